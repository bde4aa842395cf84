"""What sending a member message reads (contact, consent, language, templates), kept in dicts,
and an e-mail sender that records."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from app.messages import MessageProgramme
from domain.messages import MessageTemplate, Recipient
from domain.notifications import DeliveryFailed, NotificationKind


@dataclass
class FakeMessageDirectory:
    recipients: dict[UUID, Recipient] = field(default_factory=dict)
    phones: dict[str, str | None] = field(default_factory=dict)
    templates: dict[tuple[NotificationKind, str], MessageTemplate] = field(default_factory=dict)
    programme_facts: MessageProgramme = field(
        default_factory=lambda: MessageProgramme(
            "CNY", "Asia/Shanghai", Decimal("1"), {"member": "Member", "gold": "Gold"}
        )
    )

    async def recipient(self, member_id: UUID) -> Recipient | None:
        return self.recipients.get(member_id)

    async def preferred_language_of_phone(self, phone: str) -> str | None:
        return self.phones.get(phone)

    async def programme(self) -> MessageProgramme:
        return self.programme_facts

    async def template(self, kind: NotificationKind, language: str) -> MessageTemplate | None:
        return self.templates.get((kind, language))


class RecordingEmail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.failing = False

    async def send_email(self, to: str, subject: str, text: str) -> None:
        if self.failing:
            raise DeliveryFailed("the mail server is down")
        self.sent.append((to, subject, text))
