from __future__ import annotations

from datetime import UTC, datetime

from adapters.persistence.tables import AuditLogRow
from domain.repositories import AuditRecord


class PostgresAuditLog:
    async def record(self, record: AuditRecord) -> None:
        await AuditLogRow.insert(
            AuditLogRow(
                at=datetime.now(UTC),
                actor=record.actor,
                action=record.action,
                subject=record.subject,
                details=record.details,
            )
        )
