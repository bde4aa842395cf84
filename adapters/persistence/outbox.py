"""The outbox on PostgreSQL: the delivery worker's queue, the points-expiring reminders it
sends, and the purge of spent login state.

Claiming is ``FOR UPDATE SKIP LOCKED`` inside one UPDATE that counts the attempt and pushes
``next_attempt_at`` past a lease: any number of workers (processes, or the CLI next to the
service) share the queue without sending a message twice at once, and no lock is held while a
notifier talks to the network.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.connections import Database, connection_for
from adapters.persistence.rate_limits import purge_expired_counters
from adapters.persistence.repositories.member_privacy import not_erased
from app.batch_jobs import PurgedLoginState
from app.notifications import PendingNotification

LOGIN_STATE_RETENTION = timedelta(days=1)

_CLAIM = """
UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2
WHERE id IN (
    SELECT id FROM outbox
    WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, member_id, phone, payload::text AS payload, attempts, expires_at
"""

# A sealed login code is erased from its row once it is sent or abandoned.
_DELIVERED = """
UPDATE outbox SET delivered_at = $2, last_error = NULL,
    payload = CASE WHEN kind = 'login_code' THEN payload - 'sealed_code' ELSE payload END
WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL
"""

_RETRY = """
UPDATE outbox SET next_attempt_at = $2, last_error = $3
WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL
"""

_DEAD = """
UPDATE outbox SET dead_at = $2, last_error = $3,
    payload = CASE WHEN kind = 'login_code' THEN payload - 'sealed_code' ELSE payload END
WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL
"""

# Points expiring within the horizon, per member and expiry date in the programme's time zone;
# the dedupe key makes a second run (or a run an hour later) write nothing new.
# An erased member is told nothing (no one is there to tell).
_POINTS_EXPIRING = f"""
WITH settings AS (SELECT time_zone FROM program_settings WHERE id = 1),
due AS (
    SELECT lot.member_id,
           (lot.expires_at AT TIME ZONE settings.time_zone)::date AS expires_on,
           sum(lot.remaining) AS points,
           min(lot.expires_at) AS expires_at
    FROM points_lots AS lot CROSS JOIN settings
    JOIN members AS m ON m.id = lot.member_id AND {not_erased("m.phone")}
    WHERE NOT lot.pending AND lot.remaining > 0
      AND lot.expires_at > $1 AND lot.expires_at <= $1 + $2::interval
    GROUP BY 1, 2
),
written AS (
    INSERT INTO outbox
        (kind, member_id, payload, created_at, next_attempt_at, attempts, dedupe_key)
    SELECT 'points_expiring', member_id,
           jsonb_build_object('points', points, 'expires_on', expires_on::text,
                              'expires_at', expires_at),
           $1, $1, 0,
           'points_expiring:' || member_id || ':' || expires_on
    FROM due
    ORDER BY member_id, expires_on
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM written
"""  # noqa: S608 (not_erased is a constant condition, not input)


class PostgresNotificationQueue:
    """The worker's view of the outbox; each call autocommits on a pooled connection."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> Sequence[PendingNotification]:
        async with connection_for(self._database) as connection:
            rows = await connection.fetch(_CLAIM, now, now + lease, limit)
        return sorted(
            (
                PendingNotification(
                    id=row["id"],
                    kind=row["kind"],
                    payload=json.loads(row["payload"]),
                    attempts=row["attempts"],
                    member_id=row["member_id"],
                    phone=row["phone"],
                    expires_at=row["expires_at"],
                )
                for row in rows
            ),
            key=lambda n: n.id,
        )

    async def delivered(self, notification_id: int, at: datetime) -> None:
        await self._execute(_DELIVERED, notification_id, at)

    async def retry_at(self, notification_id: int, when: datetime, error: str) -> None:
        await self._execute(_RETRY, notification_id, when, error)

    async def give_up(self, notification_id: int, at: datetime, error: str) -> None:
        await self._execute(_DEAD, notification_id, at, error)

    async def backlog(self) -> int:
        return await outbox_backlog(self._database)

    async def _execute(self, sql: str, *args: object) -> None:
        async with connection_for(self._database) as connection:
            await connection.execute(sql, *args)


async def remind_points_expiring(database: Database, now: datetime, horizon: timedelta) -> int:
    """Queues one reminder per member and expiry date for points expiring within the horizon;
    returns how many new reminders were queued."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    async with connection_for(database) as connection:
        written: int = await connection.fetchval(_POINTS_EXPIRING, now, horizon)
    return written


async def outbox_backlog(database: Database) -> int:
    """Notifications still to be sent (due or waiting for a retry); the partial index
    outbox_due covers exactly these rows."""
    async with connection_for(database) as connection:
        waiting: int = await connection.fetchval(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL"
        )
    return waiting


async def purge_login_state(engine: PostgresEngine, now: datetime) -> PurgedLoginState:
    """Forgets expired rate-limit windows, and login codes and refresh tokens a day past their
    expiry (an expired refresh token is refused whether or not its row still exists)."""
    counters = await purge_expired_counters(engine, now)
    cutoff = now - LOGIN_STATE_RETENTION
    async with connection_for(engine) as connection:
        codes = await connection.execute(
            "DELETE FROM login_challenges WHERE expires_at < $1", cutoff
        )
        tokens = await connection.execute(
            "DELETE FROM refresh_tokens WHERE expires_at < $1", cutoff
        )
    return PurgedLoginState(counters, int(codes.split()[-1]), int(tokens.split()[-1]))
