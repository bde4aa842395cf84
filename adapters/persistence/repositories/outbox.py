"""The outbox on PostgreSQL: notifications written in the transaction of their cause."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.persistence.tables import OutboxRow
from domain.notifications import Notification


def _row(notification: Notification) -> OutboxRow:
    return OutboxRow(
        kind=notification.kind.value,
        member_id=notification.member_id,
        phone=notification.phone,
        payload=dict(notification.payload),
        created_at=notification.created_at,
        next_attempt_at=notification.created_at,
        expires_at=notification.expires_at,
    )


class PostgresOutbox:
    async def add(self, notification: Notification) -> None:
        await OutboxRow.insert(_row(notification))

    async def add_all(self, notifications: Sequence[Notification]) -> None:
        if notifications:
            await OutboxRow.insert(*(_row(n) for n in notifications))
