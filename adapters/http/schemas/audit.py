from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.http.schemas.common import Output, Page
from app.reports import AuditEntry


class AuditEntryOut(Output, kw_only=True):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            details=dict(entry.details),
        )


class AuditLogPageOut(Page, kw_only=True):
    items: list[AuditEntryOut]
