"""Admins' overrides of the shipped message templates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.persistence.tables import MessageTemplateRow
from domain.messages import MessageTemplate, StoredTemplate
from domain.notifications import NotificationKind


def _stored(row: dict[str, Any]) -> StoredTemplate:
    return StoredTemplate(
        MessageTemplate(
            NotificationKind(row["kind"]), row["language"], row["subject"], row["body"]
        ),
        updated_at=row["updated_at"],
        actor=row["actor"],
    )


class PostgresMessageTemplateRepository:
    async def get(self, kind: NotificationKind, language: str) -> StoredTemplate | None:
        row = (
            await MessageTemplateRow.select()
            .where(MessageTemplateRow.key == f"{kind.value}.{language}")
            .first()
        )
        return None if row is None else _stored(row)

    async def all(self) -> Sequence[StoredTemplate]:
        rows = await MessageTemplateRow.select().order_by(MessageTemplateRow.key)
        return [_stored(row) for row in rows]

    async def save(self, stored: StoredTemplate) -> None:
        t = stored.template
        await MessageTemplateRow.raw(
            "INSERT INTO message_templates (key, kind, language, subject, body, updated_at, actor)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT (key) DO UPDATE SET"
            " subject = EXCLUDED.subject, body = EXCLUDED.body,"
            " updated_at = EXCLUDED.updated_at, actor = EXCLUDED.actor",
            f"{t.kind.value}.{t.language}",
            t.kind.value,
            t.language,
            t.subject,
            t.body,
            stored.updated_at,
            stored.actor,
        )

    async def remove(self, kind: NotificationKind, language: str) -> bool:
        rows = await MessageTemplateRow.raw(
            "DELETE FROM message_templates WHERE key = {} RETURNING key",
            f"{kind.value}.{language}",
        )
        return bool(rows)
