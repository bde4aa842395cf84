"""The senders and the secret box the notification use cases are handed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from uuid import UUID

from domain.notifications import DeliveryFailed, NotificationKind, SmsTemplate


class FakeSecretBox:
    """Seals reversibly but visibly: the sealed form never contains the secret as is."""

    def seal(self, secret: str) -> str:
        return "sealed:" + secret[::-1] + ":x"

    def open(self, sealed: str) -> str:
        if not (sealed.startswith("sealed:") and sealed.endswith(":x")):
            raise ValueError("not sealed by this box")
        return sealed[len("sealed:") : -len(":x")][::-1]


class RecordingSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.templates: list[SmsTemplate | None] = []
        self.failing = False

    async def send(self, phone: str, text: str, *, template: SmsTemplate | None = None) -> None:
        if self.failing:
            raise DeliveryFailed("the SMS gateway is down")
        self.sent.append((phone, text))
        self.templates.append(template)

    def last_code(self, phone: str) -> str:
        texts = [text for to, text in self.sent if to == phone]
        match = re.search(r"\b(\d{6})\b", texts[-1])
        assert match is not None
        return match.group(1)


class RecordingMemberNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[UUID, NotificationKind, dict[str, object]]] = []
        self.failing = False

    async def notify(
        self, member_id: UUID, kind: NotificationKind, payload: Mapping[str, object]
    ) -> None:
        if self.failing:
            raise DeliveryFailed("the push service is down")
        self.sent.append((member_id, kind, dict(payload)))
