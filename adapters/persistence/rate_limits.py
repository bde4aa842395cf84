"""Rate limits that hold across processes: fixed-window counters in PostgreSQL.

Each hit is one autocommitted upsert on its own pooled connection, outside the caller's
transaction: a refused request still counts, and a request that fails later still counted.
The row's lock serialises concurrent hits on one bucket, so the count is exact.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.connections import connection_for
from adapters.persistence.engine import clean_connection
from domain.login import RateLimit, window_start

_HIT = """
INSERT INTO rate_limit_counters (key, hits, expires_at) VALUES ($1, $3, $2)
ON CONFLICT (key) DO UPDATE SET hits = rate_limit_counters.hits + $3
RETURNING hits
"""


class PostgresRateLimiter:
    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine

    async def hit(
        self, bucket: str, rule: RateLimit, now: datetime, *, weight: int = 1
    ) -> timedelta | None:
        start = window_start(rule, now)
        end = start + rule.window
        # Buckets name phones and client addresses: only their hash is stored.
        digest = hashlib.sha256(bucket.encode()).hexdigest()
        key = f"{digest}@{int(start.timestamp())}"
        async with clean_connection(self._engine) as connection:
            hits = await connection.fetchval(_HIT, key, end, weight)
        if hits <= rule.limit:
            return None
        return end - now


async def purge_expired_counters(engine: PostgresEngine, now: datetime) -> int:
    async with connection_for(engine) as connection:
        result = await connection.execute(
            "DELETE FROM rate_limit_counters WHERE expires_at < $1", now
        )
    return int(result.split()[-1])
