"""The outbox backlog operators see at /metrics: what is still to be sent, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.outbox import outbox_backlog
from adapters.persistence.tables import OutboxRow

SOME_TIME = datetime(2026, 1, 1, tzinfo=UTC)
INSERT = """
INSERT INTO outbox (kind, phone, payload, created_at, attempts, next_attempt_at,
                    delivered_at, dead_at)
VALUES ('login_code', '+8613800138000', '{}'::jsonb, now(), $1, now(), $2, $3)
"""


async def test_the_backlog_counts_what_is_due_or_retrying_not_delivered_or_dead(
    engine: PostgresEngine,
) -> None:
    async with engine.transaction() as tx:
        for attempts, delivered, dead in [
            (0, None, None),  # due
            (2, None, None),  # waiting for a retry
            (1, SOME_TIME, None),  # delivered
            (5, None, SOME_TIME),  # given up
        ]:
            await tx.connection.execute(INSERT, attempts, delivered, dead)

    assert await outbox_backlog(engine) == 2
    assert await OutboxRow.count() == 4
