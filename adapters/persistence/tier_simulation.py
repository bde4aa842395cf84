"""The tier policy simulation on PostgreSQL: a proposed ladder applied to today's members,
read-only, in one pass (the app.reports.TierSimulations port)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from adapters.persistence.connections import Database, connection_for
from adapters.persistence.tier_review import WORK_MEM
from app.reports import TierSimulation, per_month
from domain.tier_policy import TierPolicy

# $1 now, $2 window_days, $3 ranks, $4 thresholds, $5 multipliers (the proposed ladder, in
# rank order), $6 earn_rate, $7 currency exponent. Read-only. One pass over the members,
# grouped by the proposed tier's position on the proposed ladder (its level); both ladders
# enter as arrays computed once (see tier_review._DECISION).
_SIMULATE = """
WITH proposed AS (
    SELECT $3::int[] AS ranks,
           $4::bigint[]::numeric[] AS lows,
           -- floor(value x earn_rate x multiplier / 10^exponent): the factor of each tier
           -- (exact: a product of decimals divided by a power of ten)
           array(SELECT $6::numeric * multiplier / 10::numeric ^ $7::int
                 FROM unnest($5::numeric[]) WITH ORDINALITY AS p(multiplier, n)
                 ORDER BY n) AS factors
),
today AS (
    SELECT array_agg(code ORDER BY rank) AS codes,
           array_agg(rank ORDER BY rank) AS ranks,
           array_agg($6::numeric * earn_multiplier / 10::numeric ^ $7::int ORDER BY rank)
               AS factors
    FROM tiers
    HAVING count(*) > 0
),
spend AS (
    SELECT member_id, greatest(sum(payable - refunded_amount), 0) AS value
    FROM sales
    WHERE member_id IS NOT NULL
      AND occurred_at >= $1::timestamptz - $2::int * interval '24 hours'
    GROUP BY member_id
),
placed AS (
    SELECT array_position((SELECT codes FROM today), m.tier_code) AS today_level,
           coalesce(spend.value, 0) AS value
    FROM members AS m
    LEFT JOIN spend ON spend.member_id = m.id
    WHERE EXISTS (SELECT FROM today)
),
-- A tier today's ladder lacks counts by the entry tier's rank and earns at x1.
judged AS (
    SELECT value,
           coalesce((SELECT ranks FROM today)[today_level], (SELECT ranks FROM today)[1])
               AS current_rank,
           coalesce((SELECT factors FROM today)[today_level],
                    $6::numeric / 10::numeric ^ $7::int) AS current_factor,
           greatest(width_bucket(value, (SELECT lows FROM proposed)), 1) AS level
    FROM placed
)
SELECT level,
       count(*) AS members,
       count(*) FILTER (WHERE (SELECT ranks FROM proposed)[level] > current_rank) AS moving_up,
       count(*) FILTER (WHERE (SELECT ranks FROM proposed)[level] < current_rank) AS moving_down,
       sum(floor(value * current_factor)) AS current_points,
       sum(floor(value * (SELECT factors FROM proposed)[level])) AS proposed_points
FROM judged
GROUP BY level
"""


async def simulate_tiers(
    database: Database,
    policy: TierPolicy,
    *,
    now: datetime,
    earn_rate: Decimal,
    currency_exponent: int,
) -> TierSimulation:
    """What ``policy`` would do to today's members, computed in one read-only transaction.

    Everyone is placed on the tier they qualify for on the spend of the proposed window
    ending at ``now`` (no grace, no manual tiers); moves compare ranks with their current tier
    (a current tier the proposal drops counts by its current rank). Points are
    ``floor(spend in major units x earn_rate x multiplier)`` per member, at their current
    tier's multiplier and at the proposed tier's one.
    """
    tiers = sorted(policy.ladder.tiers, key=lambda t: t.rank)
    async with connection_for(database) as connection, connection.transaction(readonly=True):
        # One process: parallel workers would each sum every member's spend again (each builds
        # the whole hash), which costs more CPU than it saves time on two cores.
        await connection.execute(
            f"SET LOCAL jit = off; SET LOCAL work_mem = '{WORK_MEM}'; "
            "SET LOCAL max_parallel_workers_per_gather = 0"
        )
        rows = await connection.fetch(
            _SIMULATE,
            now,
            policy.window_days,
            [t.rank for t in tiers],
            [t.threshold for t in tiers],
            [t.earn_multiplier for t in tiers],
            earn_rate,
            currency_exponent,
        )
    by_level = {row["level"]: row for row in rows}
    current_points = sum(int(row["current_points"]) for row in rows)
    proposed_points = sum(int(row["proposed_points"]) for row in rows)
    return TierSimulation(
        members=sum(int(row["members"]) for row in rows),
        per_tier={
            t.code: int(by_level[level]["members"]) if level in by_level else 0
            for level, t in enumerate(tiers, start=1)
        },
        up_per_tier={
            t.code: int(by_level[level]["moving_up"]) if level in by_level else 0
            for level, t in enumerate(tiers, start=1)
        },
        down_per_tier={
            t.code: int(by_level[level]["moving_down"]) if level in by_level else 0
            for level, t in enumerate(tiers, start=1)
        },
        moving_up=sum(int(row["moving_up"]) for row in rows),
        moving_down=sum(int(row["moving_down"]) for row in rows),
        current_points=current_points,
        proposed_points=proposed_points,
        current_points_per_month=per_month(current_points, policy.window_days),
        proposed_points_per_month=per_month(proposed_points, policy.window_days),
    )
