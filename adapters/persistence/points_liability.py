"""Finance reports, read set-based from the ledger in one consistent snapshot.

The points liability: what the programme owes its members in points (outstanding available,
pending and debt, from the accounts), the available points by the month they expire (from the
open lots, which the ledger audit keeps equal to the accounts), and the flows of a period (the
entries posted in it, summed by type with their signs as stored). All three are read in one
REPEATABLE READ transaction, so they add up even while sales are being written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from app.reports import ExpiryMonth, Flows, Outstanding, PointsLiability

NEVER = "never"

_OUTSTANDING = """
SELECT coalesce(sum(available), 0) AS available,
       coalesce(sum(pending), 0) AS pending,
       coalesce(sum(debt), 0) AS debt
FROM points_accounts
"""

# Points "expire at the end of a day": expires_at is the next local midnight, the first
# instant they can no longer be spent. They count in the month of the last instant they can.
_BY_EXPIRY_MONTH = """
SELECT month, points FROM (
    SELECT CASE WHEN expires_at IS NULL THEN 'never'
                ELSE to_char((expires_at AT TIME ZONE $1) - interval '1 microsecond', 'YYYY-MM')
           END AS month,
           sum(remaining) AS points
    FROM points_lots
    WHERE NOT pending AND remaining > 0
    GROUP BY 1
) AS months
ORDER BY month = 'never', month
"""

# The period is [from, to) in local dates: from local midnight to local midnight.
_FLOWS = """
SELECT entry_type, sum(points) AS points
FROM points_entries
WHERE created_at >= ($2::date::timestamp AT TIME ZONE $1)
  AND created_at < ($3::date::timestamp AT TIME ZONE $1)
GROUP BY entry_type
"""


# Points spent on catalogue rewards: their redemptions less what cancellations gave back.
_SPENT_ON_REWARDS = """
SELECT coalesce(-sum(points), 0) AS spent
FROM points_entries
WHERE created_at >= ($2::date::timestamp AT TIME ZONE $1)
  AND created_at < ($3::date::timestamp AT TIME ZONE $1)
  AND ((entry_type = 'redeem' AND reference LIKE 'reward:%')
       OR (entry_type = 'restore' AND reference LIKE 'reward\\_cancel:%'))
"""


def _flows(rows: list[Any], spent_on_rewards: int = 0) -> Flows:
    by_type = {row["entry_type"]: int(row["points"]) for row in rows}
    return Flows(
        earned=by_type.pop("earn", 0),
        redeemed=by_type.pop("redeem", 0),
        expired=by_type.pop("expire", 0),
        reversed=by_type.pop("reverse", 0),
        restored=by_type.pop("restore", 0),
        adjusted=by_type.pop("adjust", 0),
        spent_on_rewards=spent_on_rewards,
    )


async def points_liability(
    connection: asyncpg.Connection, *, time_zone: str, start: date, end: date
) -> PointsLiability:
    """Outstanding points now, available points by expiry month, and the flows of [start, end)
    (local dates in ``time_zone``), all from one snapshot."""
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        outstanding = await connection.fetchrow(_OUTSTANDING)
        months = await connection.fetch(_BY_EXPIRY_MONTH, time_zone)
        flows = await connection.fetch(_FLOWS, time_zone, start, end)
        spent = await connection.fetchval(_SPENT_ON_REWARDS, time_zone, start, end)
    return PointsLiability(
        outstanding=Outstanding(
            available=int(outstanding["available"]),
            pending=int(outstanding["pending"]),
            debt=int(outstanding["debt"]),
        ),
        by_expiry_month=[ExpiryMonth(r["month"], int(r["points"])) for r in months],
        flows=_flows(flows, int(spent)),
    )
