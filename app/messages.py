"""Composing and sending member messages: the template for the kind and the member's language,
rendered in a sandbox, on a channel the member can be reached by and, for marketing, consented
to. Consent, contact details and language are read when the message is sent, so a member who
withdraws consent stops every marketing message still waiting in the outbox.

``Messenger`` is the ``MemberNotifier`` of the outbox worker (app.notifications) and the sender
of login codes. A message no channel may carry is withheld: logged, and counted as handled (it
is not retried; a later consent does not revive it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

import structlog

from domain.members import ConsentChannel
from domain.messages import (
    MessageLocale,
    MessageRenderer,
    MessageTemplate,
    Purpose,
    Recipient,
    choose_channel,
    default_template,
    message_language,
    purpose_of,
)
from domain.money import floor_int
from domain.notifications import (
    DeliveryFailed,
    EmailSender,
    NotificationKind,
    SmsSender,
    SmsTemplate,
)

log = structlog.get_logger("loyalty.messages")

FALLBACK_NAMES = {"zh-CN": "会员", "en": "member"}


@dataclass(frozen=True, slots=True)
class MessageProgramme:
    currency: str
    time_zone: str
    point_value: Decimal
    tier_names: Mapping[str, str]


class MessageDirectory(Protocol):
    """What sending reads, fresh at each send (outside any unit of work)."""

    async def recipient(self, member_id: UUID) -> Recipient | None: ...

    async def preferred_language_of_phone(self, phone: str) -> str | None:
        """The preferred language of the member with this phone, if any."""
        ...

    async def programme(self) -> MessageProgramme: ...

    async def template(self, kind: NotificationKind, language: str) -> MessageTemplate | None:
        """The admin's override, or None for the shipped default."""
        ...


class LoginCodeSender(Protocol):
    async def send_login_code(self, phone: str, code: str, minutes: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    channel: ConsentChannel | None  # None: withheld


class Messenger:
    def __init__(
        self,
        *,
        directory: MessageDirectory,
        renderer: MessageRenderer,
        sms: SmsSender,
        email: EmailSender | None,
        default_language: str,
    ) -> None:
        self._directory = directory
        self._renderer = renderer
        self._sms = sms
        self._email = email
        self._default_language = default_language

    @property
    def channels(self) -> frozenset[ConsentChannel]:
        available = {ConsentChannel.SMS}
        if self._email is not None:
            available.add(ConsentChannel.EMAIL)
        return frozenset(available)

    async def _template(self, kind: NotificationKind, language: str) -> MessageTemplate:
        return await self._directory.template(kind, language) or default_template(kind, language)

    async def send_login_code(self, phone: str, code: str, minutes: int) -> None:
        preferred = await self._directory.preferred_language_of_phone(phone)
        language = message_language(preferred, self._default_language)
        programme = await self._directory.programme()
        locale = MessageLocale(language, programme.currency, programme.time_zone)
        kind = NotificationKind.LOGIN_CODE
        rendered = self._renderer.render(
            await self._template(kind, language), {"code": code, "minutes": minutes}, locale
        )
        await self._sms.send(
            phone, rendered.body, template=SmsTemplate(kind.value, language, rendered.params)
        )

    async def notify(
        self, member_id: UUID, kind: NotificationKind, payload: Mapping[str, object]
    ) -> None:
        await self.deliver(member_id, kind, payload)

    async def deliver(
        self, member_id: UUID, kind: NotificationKind, payload: Mapping[str, object]
    ) -> Outcome:
        recipient = await self._directory.recipient(member_id)
        purpose = purpose_of(kind, payload)
        channel = None if recipient is None else choose_channel(recipient, purpose, self.channels)
        if recipient is None or channel is None:
            log.info(
                "message.withheld",
                member_id=str(member_id),
                kind=kind.value,
                purpose=purpose.value,
                reason="no member" if recipient is None else "no channel consented or reachable",
            )
            return Outcome(None)
        language = message_language(recipient.preferred_language, self._default_language)
        programme = await self._directory.programme()
        locale = MessageLocale(language, programme.currency, programme.time_zone)
        context = message_context(kind, payload, recipient, programme, language)
        rendered = self._renderer.render(await self._template(kind, language), context, locale)
        if channel is ConsentChannel.EMAIL:
            assert self._email is not None
            assert recipient.email is not None
            await self._email.send_email(recipient.email, rendered.subject, rendered.body)
        else:
            assert recipient.phone is not None
            await self._sms.send(
                recipient.phone,
                rendered.body,
                template=SmsTemplate(kind.value, language, rendered.params),
            )
        log.info(
            "message.sent",
            member_id=str(member_id),
            kind=kind.value,
            channel=channel.value,
            purpose=purpose.value,
            language=language,
        )
        return Outcome(channel)


def _instant(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def message_context(
    kind: NotificationKind,
    payload: Mapping[str, object],
    recipient: Recipient,
    programme: MessageProgramme,
    language: str,
) -> dict[str, object]:
    """The placeholders of the kind (domain.messages.SAMPLE_CONTEXTS lists them), typed from
    the stored payload."""
    context: dict[str, object] = {"name": recipient.name or FALLBACK_NAMES[language]}
    try:
        if kind is NotificationKind.TIER_CHANGED:
            for key, placeholder in (("from", "from_tier"), ("to", "to_tier")):
                code = str(payload[key])
                context[placeholder] = programme.tier_names.get(code, code)
        elif kind is NotificationKind.POINTS_EXPIRING:
            points = int(str(payload["points"]))
            context["points"] = points
            context["worth"] = floor_int(Decimal(points) * programme.point_value)
            context["expires_on"] = date.fromisoformat(str(payload["expires_on"]))
        elif kind in (NotificationKind.COUPON_ISSUED, NotificationKind.BIRTHDAY):
            context["title"] = str(payload["title"])
            context["expires_at"] = _instant(payload["expires_at"])
        elif kind is NotificationKind.REWARD_REDEEMED:
            context["title"] = str(payload["title"])
            context["points"] = int(str(payload["points"]))
        else:
            raise DeliveryFailed(f"{kind.value} is not a message to a member")
    except (KeyError, ValueError) as error:
        raise DeliveryFailed(f"a {kind.value} payload without {error}") from error
    return context


__all__ = ["LoginCodeSender", "MessageDirectory", "MessageProgramme", "Messenger", "Purpose"]
