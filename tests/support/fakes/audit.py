"""The audit log."""

from __future__ import annotations

from domain.repositories import AuditRecord


class FakeAuditLog:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    async def record(self, record: AuditRecord) -> None:
        self.records.append(record)
