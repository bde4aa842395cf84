"""What the message sender reads at the moment of sending: the member's contact details,
consent and language, the programme's currency and zone, and the admins' templates. Each read
autocommits on a pooled connection: no transaction is held while a channel talks to the
network, and a consent withdrawn a moment ago is seen."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from adapters.persistence.connections import Database, connection_for
from adapters.persistence.repositories.member_privacy import not_erased
from app.messages import MessageProgramme
from domain.members import ConsentChannel
from domain.messages import MessageTemplate, Recipient
from domain.notifications import NotificationKind

_RECIPIENT = f"""
SELECT phone, email, name, preferred_language, consent_sms, consent_email, consent_push,
       NOT ({not_erased("phone")}) AS erased
FROM members WHERE id = $1
"""  # noqa: S608 (not_erased is a constant condition, not input)


class PostgresMessageDirectory:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def recipient(self, member_id: UUID) -> Recipient | None:
        async with connection_for(self._database) as connection:
            row = await connection.fetchrow(_RECIPIENT, member_id)
        if row is None:
            return None
        consents = frozenset(
            channel
            for channel, granted in (
                (ConsentChannel.SMS, row["consent_sms"]),
                (ConsentChannel.EMAIL, row["consent_email"]),
                (ConsentChannel.PUSH, row["consent_push"]),
            )
            if granted
        )
        erased = bool(row["erased"])
        return Recipient(
            phone=None if erased else row["phone"],
            email=None if erased else row["email"],
            preferred_language=row["preferred_language"],
            consents=consents,
            name=row["name"],
            erased=erased,
        )

    async def preferred_language_of_phone(self, phone: str) -> str | None:
        async with connection_for(self._database) as connection:
            language: str | None = await connection.fetchval(
                "SELECT preferred_language FROM members WHERE phone = $1", phone
            )
        return language

    async def programme(self) -> MessageProgramme:
        async with connection_for(self._database) as connection:
            settings = await connection.fetchrow(
                "SELECT currency, time_zone, point_value FROM program_settings WHERE id = 1"
            )
            tiers = await connection.fetch("SELECT code, name FROM tiers")
        if settings is None:
            return MessageProgramme("CNY", "Asia/Shanghai", Decimal(1), {})
        return MessageProgramme(
            settings["currency"],
            settings["time_zone"],
            Decimal(settings["point_value"]),
            {row["code"]: row["name"] for row in tiers},
        )

    async def template(self, kind: NotificationKind, language: str) -> MessageTemplate | None:
        async with connection_for(self._database) as connection:
            row = await connection.fetchrow(
                "SELECT subject, body FROM message_templates WHERE key = $1",
                f"{kind.value}.{language}",
            )
        return None if row is None else MessageTemplate(kind, language, row["subject"], row["body"])
