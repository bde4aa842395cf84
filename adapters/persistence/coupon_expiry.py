"""Marking expired coupons on PostgreSQL, set-based.

Expiry only changes what the status column says: a coupon past its end can never be redeemed
whether or not the job has run (redemption checks the time), and members already see it as
expired. The job keeps the column honest for reports and indexes.
"""

from __future__ import annotations

from datetime import datetime

from adapters.persistence.connections import Database, connection_for

EXPIRE_BATCH_SIZE = 50_000

_EXPIRE_BATCH = """
WITH due AS (
    SELECT id FROM coupons
    WHERE status = 'available' AND expires_at <= $1
    ORDER BY expires_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE coupons SET status = 'expired', updated_at = $1
FROM due WHERE coupons.id = due.id
"""


async def expire_coupons(
    database: Database, now: datetime, *, batch_size: int = EXPIRE_BATCH_SIZE
) -> int:
    """Marks every available coupon past its end as expired; returns how many. Each batch
    commits; coupons a sale holds at this moment are skipped and caught by the next run."""
    total = 0
    async with connection_for(database) as connection:
        while True:
            status = await connection.execute(_EXPIRE_BATCH, now, batch_size)
            changed = int(status.split()[-1])
            total += changed
            if changed < batch_size:
                return total
