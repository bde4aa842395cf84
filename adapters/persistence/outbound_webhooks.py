"""Outbound webhooks on PostgreSQL: events written in their cause's transaction, endpoints,
and the delivery job's queue.

Events go to ``integration_events`` (one row per event, whatever the number of endpoints); the
job's fan-out turns each into one ``webhook_deliveries`` row per subscribed endpoint
(``UNIQUE (endpoint_id, event_id)``: a fan-out run twice writes nothing twice), and claims
due deliveries like the outbox does (``FOR UPDATE SKIP LOCKED`` in one UPDATE that counts
the attempt and pushes ``next_attempt_at`` past a lease).

A set-based job writes its events in the same statement as its work, as one more CTE that
inserts into ``integration_events`` (points_expiry.py, tier_review.py, and the tier moves of a
policy change in repositories/program.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from adapters.persistence import session
from adapters.persistence.connections import Database, connection_for
from adapters.persistence.session import connection
from app.outbound_webhooks import SYSTEM_ACTOR, AttemptOutcome, DisabledEndpoint, DueDelivery
from domain.outbound_webhooks import (
    DeliveryAttempt,
    DeliveryState,
    EventType,
    IntegrationEvent,
    WebhookDelivery,
    WebhookEndpoint,
)


def _json(value: Mapping[str, object] | None) -> str | None:
    return None if value is None else json.dumps(dict(value), default=str, sort_keys=True)


def _member_of(event: IntegrationEvent) -> UUID | None:
    member = event.data.get("member_id")
    if member is None:
        return None
    return member if isinstance(member, UUID) else UUID(str(member))


_PUBLISH = """
INSERT INTO integration_events (id, event_type, occurred_at, data, personal, member_id)
SELECT gen_random_uuid(), t, o, d::jsonb, p::jsonb, m FROM (VALUES
"""


def _instant(value: datetime) -> str:
    # As asyncpg sends a naive time: UTC, whatever the server's time zone.
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()


def _text(value: str | None) -> str:
    return "NULL::text" if value is None else session.literal(value)


class PostgresIntegrationEvents:
    """Events are written with their cause's COMMIT (session.at_commit), in its round trip:
    nothing in the cause's transaction reads them back, except an erasure's ``forget_member``,
    which writes the ones still waiting first."""

    async def publish(self, event: IntegrationEvent) -> None:
        await self.publish_all([event])

    async def publish_all(self, events: Sequence[IntegrationEvent]) -> None:
        if not events:
            return
        rows = ",\n".join(
            f"({_text(e.type.value)}, {_text(_instant(e.occurred_at))}::timestamptz, "
            f"{_text(_json(e.data))}, {_text(_json(e.personal))}, "
            + ("NULL::uuid" if (m := _member_of(e)) is None else f"'{m}'::uuid")
            + ")"
            for e in events
        )
        session.at_commit(_PUBLISH + rows + "\n) AS e(t, o, d, p, m)")

    async def forget_member(self, member_id: UUID) -> None:
        pending = session.active().at_commit
        waiting = [statement for statement in pending if statement.startswith(_PUBLISH)]
        for statement in waiting:
            pending.remove(statement)
            await connection().execute(statement)
        await connection().execute(
            "UPDATE integration_events SET personal = NULL "
            "WHERE member_id = $1 AND personal IS NOT NULL",
            member_id,
        )


# Endpoints ------------------------------------------------------------------------------------

_ENDPOINT_COLUMNS = """
id, url, description, event_types, personal_data, enabled, created_at, consecutive_failures,
disabled_at, disabled_reason, sealed_secret, sealed_previous_secret, previous_secret_until
"""


def _endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row["id"],
        url=row["url"],
        description=row["description"],
        event_types=tuple(EventType(t) for t in row["event_types"] if t in _KNOWN),
        personal_data=row["personal_data"],
        enabled=row["enabled"],
        created_at=row["created_at"],
        consecutive_failures=row["consecutive_failures"],
        disabled_at=row["disabled_at"],
        disabled_reason=row["disabled_reason"],
        sealed_secret=row["sealed_secret"],
        sealed_previous_secret=row["sealed_previous_secret"],
        previous_secret_until=row["previous_secret_until"],
    )


_KNOWN = {t.value for t in EventType}

_DELIVERY_COLUMNS = """
d.id, d.endpoint_id, d.event_id, e.event_type, e.occurred_at, d.attempts, d.queued_at,
d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.dead_at
"""


def _delivery(row: Any) -> WebhookDelivery:
    if row["delivered_at"] is not None:
        state = DeliveryState.DELIVERED
    elif row["dead_at"] is not None:
        state = DeliveryState.DEAD
    else:
        state = DeliveryState.PENDING
    return WebhookDelivery(
        id=row["id"],
        endpoint_id=row["endpoint_id"],
        event_id=f"msg_{row['event_id'].hex}",
        event_type=row["event_type"],
        occurred_at=row["occurred_at"],
        state=state,
        attempts=row["attempts"],
        queued_at=row["queued_at"],
        next_attempt_at=row["next_attempt_at"] if state is DeliveryState.PENDING else None,
        last_status=row["last_status"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
    )


_RESEND = """
UPDATE webhook_deliveries AS d
SET delivered_at = NULL, dead_at = NULL, next_attempt_at = $2, queued_at = $2,
    round_attempts = 0
FROM integration_events AS e
WHERE e.id = d.event_id AND d.endpoint_id = $1 AND {condition}
"""


class PostgresWebhookEndpointRepository:
    async def add(self, endpoint: WebhookEndpoint) -> None:
        await connection().execute(
            f"INSERT INTO webhook_endpoints ({_ENDPOINT_COLUMNS}) "  # noqa: S608
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            *self._values(endpoint),
        )

    async def get(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        row = await connection().fetchrow(
            f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1",  # noqa: S608
            endpoint_id,
        )
        return None if row is None else _endpoint(row)

    async def hold(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        row = await connection().fetchrow(
            f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 FOR UPDATE",  # noqa: S608
            endpoint_id,
        )
        return None if row is None else _endpoint(row)

    async def list(self, *, after: UUID | None, limit: int) -> Sequence[WebhookEndpoint]:
        rows = await connection().fetch(
            f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints "  # noqa: S608
            "WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2",
            after,
            limit,
        )
        return [_endpoint(row) for row in rows]

    async def save(self, endpoint: WebhookEndpoint) -> None:
        await connection().execute(
            """
            UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4,
                personal_data = $5, enabled = $6, created_at = $7, consecutive_failures = $8,
                disabled_at = $9, disabled_reason = $10, sealed_secret = $11,
                sealed_previous_secret = $12, previous_secret_until = $13
            WHERE id = $1
            """,
            *self._values(endpoint),
        )

    @staticmethod
    def _values(endpoint: WebhookEndpoint) -> tuple[object, ...]:
        return (
            endpoint.id,
            endpoint.url,
            endpoint.description,
            [t.value for t in endpoint.event_types],
            endpoint.personal_data,
            endpoint.enabled,
            endpoint.created_at,
            endpoint.consecutive_failures,
            endpoint.disabled_at,
            endpoint.disabled_reason,
            endpoint.sealed_secret,
            endpoint.sealed_previous_secret,
            endpoint.previous_secret_until,
        )

    async def deliveries(
        self, endpoint_id: UUID, *, before: int | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        rows = await connection().fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries AS d "  # noqa: S608
            "JOIN integration_events AS e ON e.id = d.event_id "
            "WHERE d.endpoint_id = $1 AND ($2::bigint IS NULL OR d.id < $2) "
            "ORDER BY d.id DESC LIMIT $3",
            endpoint_id,
            before,
            limit,
        )
        return [_delivery(row) for row in rows]

    async def attempts(
        self, endpoint_id: UUID, *, before: int | None, limit: int
    ) -> Sequence[DeliveryAttempt]:
        rows = await connection().fetch(
            """
            SELECT a.id, a.delivery_id, d.event_id, e.event_type, a.attempt, a.at, a.status,
                   a.latency_ms, a.error
            FROM webhook_attempts AS a
            JOIN webhook_deliveries AS d ON d.id = a.delivery_id
            JOIN integration_events AS e ON e.id = d.event_id
            WHERE a.endpoint_id = $1 AND ($2::bigint IS NULL OR a.id < $2)
            ORDER BY a.id DESC LIMIT $3
            """,
            endpoint_id,
            before,
            limit,
        )
        return [
            DeliveryAttempt(
                id=row["id"],
                delivery_id=row["delivery_id"],
                event_id=f"msg_{row['event_id'].hex}",
                event_type=row["event_type"],
                attempt=row["attempt"],
                at=row["at"],
                status=row["status"],
                latency_ms=row["latency_ms"],
                error=row["error"],
            )
            for row in rows
        ]

    async def resend(self, endpoint_id: UUID, delivery_id: int, now: datetime) -> bool:
        done = await connection().execute(
            _RESEND.format(condition="d.id = $3"), endpoint_id, now, delivery_id
        )
        return int(done.split()[-1]) == 1

    async def resend_since(self, endpoint_id: UUID, since: datetime, now: datetime) -> int:
        done = await connection().execute(
            _RESEND.format(condition="e.occurred_at >= $3"), endpoint_id, now, since
        )
        return int(done.split()[-1])


# The delivery job's queue ---------------------------------------------------------------------

_FAN_OUT = """
WITH fresh AS (
    SELECT id, event_type FROM integration_events
    WHERE fanned_out_at IS NULL
    ORDER BY occurred_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
),
marked AS (
    UPDATE integration_events AS e SET fanned_out_at = $1
    FROM fresh WHERE e.id = fresh.id
    RETURNING e.id, e.event_type
),
queued AS (
    INSERT INTO webhook_deliveries
        (endpoint_id, event_id, queued_at, next_attempt_at, attempts, round_attempts)
    SELECT ep.id, marked.id, $1, $1, 0, 0
    FROM marked JOIN webhook_endpoints AS ep ON marked.event_type = ANY (ep.event_types)
    ON CONFLICT (endpoint_id, event_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM marked) AS events, (SELECT count(*) FROM queued) AS deliveries
"""

_CLAIM = """
WITH claimed AS (
    UPDATE webhook_deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1,
        next_attempt_at = $2
    WHERE id IN (
        SELECT d.id FROM webhook_deliveries AS d
        JOIN webhook_endpoints AS ep ON ep.id = d.endpoint_id AND ep.enabled
        WHERE d.delivered_at IS NULL AND d.dead_at IS NULL AND d.next_attempt_at <= $1
        ORDER BY d.next_attempt_at, d.id
        LIMIT $3
        FOR UPDATE OF d SKIP LOCKED
    )
    RETURNING id, endpoint_id, event_id, attempts, round_attempts, queued_at
)
SELECT c.id, c.endpoint_id, c.event_id, c.attempts, c.round_attempts, c.queued_at,
       ep.url, ep.personal_data, ep.sealed_secret,
       CASE WHEN ep.previous_secret_until > $1 THEN ep.sealed_previous_secret END
           AS sealed_previous_secret,
       e.event_type, e.occurred_at, e.data::text AS data, e.personal::text AS personal
FROM claimed AS c
JOIN webhook_endpoints AS ep ON ep.id = c.endpoint_id
JOIN integration_events AS e ON e.id = c.event_id
ORDER BY c.id
"""

_LOG_ATTEMPT = """
INSERT INTO webhook_attempts (delivery_id, endpoint_id, attempt, at, status, latency_ms, error)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

# Applied only while the delivery is still pending: a resend or a second worker after an
# expired lease does not undo a newer state.
_DELIVERED = """
UPDATE webhook_deliveries SET delivered_at = $2, last_status = $3, last_error = NULL
WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL
"""
_RETRY = """
UPDATE webhook_deliveries SET next_attempt_at = $2, last_status = $3, last_error = $4
WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL
"""
_DEAD = """
UPDATE webhook_deliveries SET dead_at = $2, last_status = $3, last_error = $4
WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL
"""
_SUCCEEDED = "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = $1"
_FAILED = """
UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
    enabled = CASE WHEN enabled AND consecutive_failures + 1 >= $2 THEN false ELSE enabled END,
    disabled_at = CASE WHEN enabled AND consecutive_failures + 1 >= $2 THEN $3
                       ELSE disabled_at END,
    disabled_reason = CASE WHEN enabled AND consecutive_failures + 1 >= $2
                           THEN $4 ELSE disabled_reason END
WHERE id = $1
RETURNING url, consecutive_failures, (disabled_at = $3 AND NOT enabled) AS just_disabled
"""


class PostgresWebhookQueue:
    """The delivery job's view; each call runs in a transaction of its own."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def fan_out(self, now: datetime, *, limit: int) -> int:
        async with connection_for(self._database) as conn:
            row = await conn.fetchrow(_FAN_OUT, now, limit)
        return int(row["events"])

    async def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> Sequence[DueDelivery]:
        async with connection_for(self._database) as conn:
            rows = await conn.fetch(_CLAIM, now, now + lease, limit)
        return [
            DueDelivery(
                id=row["id"],
                endpoint_id=row["endpoint_id"],
                url=row["url"],
                event_id=row["event_id"],
                event_type=row["event_type"],
                occurred_at=row["occurred_at"],
                data=json.loads(row["data"]),
                personal=json.loads(row["personal"]) if row["personal"] else None,
                personal_data=row["personal_data"],
                sealed_secrets=tuple(
                    s for s in (row["sealed_secret"], row["sealed_previous_secret"]) if s
                ),
                attempts=row["attempts"],
                round_attempts=row["round_attempts"],
                queued_at=row["queued_at"],
            )
            for row in rows
        ]

    async def put_back(self, delivery_id: int, now: datetime) -> None:
        async with connection_for(self._database) as conn:
            await conn.execute(
                "UPDATE webhook_deliveries SET attempts = attempts - 1, "
                "round_attempts = round_attempts - 1, next_attempt_at = $2 "
                "WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL",
                delivery_id,
                now,
            )

    async def record(
        self, outcome: AttemptOutcome, *, disable_after: int
    ) -> DisabledEndpoint | None:
        result = outcome.result
        error = result.error if result.error is not None or result.ok else (f"HTTP {result.status}")
        async with connection_for(self._database) as conn, conn.transaction():
            await conn.execute(
                _LOG_ATTEMPT,
                outcome.delivery_id,
                outcome.endpoint_id,
                outcome.attempt,
                outcome.at,
                result.status,
                result.latency_ms,
                error,
            )
            if result.ok:
                await conn.execute(_DELIVERED, outcome.delivery_id, outcome.at, result.status)
                await conn.execute(_SUCCEEDED, outcome.endpoint_id)
                return None
            if outcome.retry_at is None:
                await conn.execute(_DEAD, outcome.delivery_id, outcome.at, result.status, error)
            else:
                await conn.execute(
                    _RETRY, outcome.delivery_id, outcome.retry_at, result.status, error
                )
            row = await conn.fetchrow(
                _FAILED,
                outcome.endpoint_id,
                disable_after,
                outcome.at,
                f"{disable_after} failed deliveries in a row",
            )
            if row is None or not row["just_disabled"]:
                return None
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, subject, details) "
                "VALUES ($1, $2, 'webhook_endpoint.disabled', $3, $4::jsonb)",
                outcome.at,
                SYSTEM_ACTOR,
                f"webhook_endpoint:{outcome.endpoint_id}",
                json.dumps(
                    {
                        "failures": row["consecutive_failures"],
                        "url": row["url"],
                        "last_error": error,
                    }
                ),
            )
        return DisabledEndpoint(outcome.endpoint_id, row["url"], row["consecutive_failures"])
