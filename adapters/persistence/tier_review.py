"""The periodic tier review on PostgreSQL, set-based (the simulation is tier_simulation.py).

The review applies ``domain.tier_policy.at_review`` to every member at once, in SQL:

- up to the tier the member qualifies for when it ranks above theirs (reason ``qualified``;
  the grace mark is cleared, a manual end date is kept);
- qualifying for their own tier again clears the grace mark (``tier_short_since``);
- short of their tier: nothing while a tier set by hand is in force (``tier_manual_until >
  now``); otherwise the first review that finds them short marks them (``tier_short_since =
  now``, the spent manual end date is cleared), and once ``now >= tier_short_since +
  grace_days`` they drop to the highest tier they qualify for (reason ``review``).

A tier missing from the ladder counts as the entry tier, as in the domain. Days are 24 hours
(``timedelta(days=n)``), never calendar days in the session's time zone. The qualifying value
is ``sum(payable - refunded_amount)`` of the member's sales with ``occurred_at >= now -
window_days``: a sale exactly ``window_days`` ago counts, one a microsecond older does not.

Members are reviewed in batches of ``member_id`` ranges, one transaction each, in two
phases. The first decides for every member of the batch without locks, keeps the decisions
that would change a standing (with the standing, qualifying value and policy version they
were made on) and locks those members' points accounts, in member id order (the lock order of
every ledger writer: a sale locks its member's account before it upgrades them). The second
runs under those locks, when no sale of theirs can be half-way through: it sums their
qualifying value again and applies each kept decision whose inputs are unchanged (a decision
is a function of them); the members whose value, standing or policy changed in between are
decided again from scratch and updated. Every update re-checks the member's standing as read,
so a concurrent change (a manual tier, an upgrade) is never overwritten. A member the first
phase left alone can only have gained spend since, and a sale that lifts a member above their
tier upgrades them itself.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import datetime
from uuid import UUID

import asyncpg

from adapters.persistence.connections import Database, connection_for
from app.batch_jobs import ReviewReport

REVIEW_BATCH_SIZE = 250_000
# Batches run on this many connections at once (given an engine; a single connection runs
# them one after the other). Most of a batch is PostgreSQL writing rows, which uses a core.
REVIEW_WORKERS = 2
WORK_MEM = "64MB"  # per sort or hash of a batch; at most REVIEW_WORKERS batches at once

# The upper member id of every batch, in order: the batch after `after` is (after, upper], and
# holds the next $1 members in id order (the last one what is left). One sort of the ids,
# whatever the state of the table: walking the primary key instead must visit the table for
# every entry on pages changed since the last vacuum, which after a big review is each page.
# percentile_disc picks the member at position ceil(f * n): f = (p - 0.5) / n is position p.
_BATCH_UPPERS = """
WITH everyone AS (SELECT count(*) AS n FROM members)
SELECT unnest(percentile_disc(
    ARRAY(SELECT (least(k * $1::bigint, everyone.n) - 0.5) / everyone.n
          FROM generate_series(1, (everyone.n + $1::bigint - 1) / $1::bigint) AS k)::float8[]
) WITHIN GROUP (ORDER BY members.id)) AS upper
FROM members, everyone
GROUP BY everyone.n
"""

# The review's decision for every member of a batch: their standing as read, the tier their
# qualifying spend earns them and the action a review takes. {members} narrows the batch.
# $1 now, $2 after (exclusive, NULL for the first batch), $3 upper (inclusive).
_DECISION = """
WITH policy AS (
    SELECT version, grace_days,
           $1::timestamptz - window_days * interval '24 hours' AS window_start,
           -- short since then or earlier: the grace period is over
           $1::timestamptz - grace_days * interval '24 hours' AS grace_over_since
    FROM tier_policies ORDER BY version DESC LIMIT 1
),
-- The ladder as arrays in rank order: a member's level is a position on it. width_bucket
-- finds the highest threshold a value reaches (thresholds rise with rank, the entry tier's is
-- 0); a tier missing from the ladder counts as the entry tier.
ladder AS (
    SELECT array_agg(code ORDER BY rank) AS codes,
           array_agg(threshold::numeric ORDER BY rank) AS lows
    FROM tiers
    HAVING count(*) > 0
),
spend AS MATERIALIZED (
    SELECT s.member_id, sum(s.payable - s.refunded_amount) AS value
    FROM sales AS s
    WHERE s.member_id IS NOT NULL
      AND ($2::uuid IS NULL OR s.member_id > $2::uuid) AND s.member_id <= $3::uuid
      AND s.occurred_at >= (SELECT window_start FROM policy)
      {spenders}
    GROUP BY s.member_id
),
valued AS (
    SELECT m.id, m.ctid AS row_ctid, m.tier_code, m.tier_short_since, m.tier_manual_until,
           greatest(coalesce(spend.value, 0), 0) AS value
    FROM members AS m
    LEFT JOIN spend ON spend.member_id = m.id
    WHERE ($2::uuid IS NULL OR m.id > $2::uuid) AND m.id <= $3::uuid {members}
      AND EXISTS (SELECT FROM policy) AND EXISTS (SELECT FROM ladder)
),
-- The policy and the ladder enter as values computed once (scalar subqueries), not joined:
-- a join would copy the ladder's arrays into every member's row.
judged AS (
    SELECT valued.*,
           coalesce(array_position((SELECT codes FROM ladder), valued.tier_code), 1)
               AS current_level,
           greatest(width_bucket(valued.value, (SELECT lows FROM ladder)), 1) AS qualified_level
    FROM valued
),
-- MATERIALIZED: planned apart from the update, whose re-check of the standing the planner
-- would otherwise take as selective and answer with a nested loop over the sums.
decided AS MATERIALIZED (
    SELECT judged.*, (SELECT version FROM policy) AS policy_version,
           (SELECT codes FROM ladder)[current_level] AS current_code,
           (SELECT codes FROM ladder)[qualified_level] AS qualified_code,
        CASE
            WHEN qualified_level > current_level THEN 'up'
            WHEN qualified_level = current_level THEN
                CASE WHEN tier_short_since IS NULL THEN 'keep' ELSE 'clear' END
            WHEN tier_manual_until IS NOT NULL AND $1::timestamptz < tier_manual_until
                THEN 'keep'
            -- Without a grace period the first review that finds a member short drops them.
            WHEN tier_short_since IS NULL AND (SELECT grace_days FROM policy) > 0 THEN 'start'
            WHEN tier_short_since > (SELECT grace_over_since FROM policy) THEN 'keep'
            ELSE 'down'
        END AS action
    FROM judged
)
"""

# The batch's work tables, dropped at its commit: the decision of phase one for the members
# whose standing would change, and those phase two finds it can no longer apply as decided.
_WORK_TABLES = """
CREATE TEMP TABLE tier_review_decided (
    id uuid NOT NULL,
    row_ctid tid NOT NULL,
    tier_code text NOT NULL,
    tier_short_since timestamptz,
    tier_manual_until timestamptz,
    value numeric NOT NULL,
    action text NOT NULL,
    current_code text NOT NULL,
    qualified_code text NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE tier_review_stale (id uuid NOT NULL) ON COMMIT DROP;
"""

# Phase one, without locks: the decision for every member of the batch; those whose standing
# it would change are kept, with the standing and qualifying value it was made on.
_DECIDE = (
    _DECISION.format(members="", spenders="")  # noqa: S608 (constant fragments, no input)
    + """,
kept AS (
    INSERT INTO tier_review_decided
    SELECT id, row_ctid, tier_code, tier_short_since, tier_manual_until, value, action,
           current_code, qualified_code
    FROM decided
    WHERE action <> 'keep'
    RETURNING 1
)
SELECT (SELECT count(*) FROM decided) AS reviewed,
       (SELECT version FROM policy) AS policy_version,
       (SELECT window_start FROM policy) AS since,
       (SELECT count(*) FROM kept) AS changing
"""
)

# Then their points accounts are locked in member id order (the lock order of every ledger
# writer). Most members keep their standing on most days; locking only the others keeps the
# review from writing to every account row.
_LOCK_CHANGING_ACCOUNTS = """
SELECT count(*) FROM (
    SELECT member_id FROM points_accounts
    WHERE member_id IN (SELECT id FROM tier_review_decided)
    ORDER BY member_id
    FOR UPDATE
) AS locked
"""

# What phase two writes for the members in `changed` (id, action, current_code,
# qualified_code, policy_version, was_short): the history, the notification, the counts
# (`applied`: members updated).
_RECORD = """,
history AS (
    INSERT INTO tier_changes
        (member_id, from_code, to_code, reason, at, actor, note, policy_version)
    SELECT changed.id, changed.current_code, changed.qualified_code,
           CASE changed.action WHEN 'up' THEN 'qualified' ELSE 'review' END,
           $1::timestamptz, NULL, NULL, changed.policy_version
    FROM changed
    WHERE changed.action IN ('up', 'down')
    ORDER BY changed.id
    RETURNING 1
),
-- The member hears of the move through the outbox, committed with it.
notified AS (
    INSERT INTO outbox (kind, member_id, payload, created_at, next_attempt_at, attempts)
    SELECT 'tier_changed', changed.id,
           jsonb_build_object('from', changed.current_code, 'to', changed.qualified_code,
                              'reason', CASE changed.action WHEN 'up' THEN 'qualified'
                                                            ELSE 'review' END),
           $1::timestamptz, $1::timestamptz, 0
    FROM changed
    WHERE changed.action IN ('up', 'down')
    ORDER BY changed.id
    RETURNING 1
),
-- Integrators too (domain.integration_events.tier_changed), in the same transaction.
announced AS (
    INSERT INTO integration_events (id, event_type, occurred_at, data, member_id)
    SELECT gen_random_uuid(), 'tier.changed', $1::timestamptz,
           jsonb_build_object('member_id', changed.id, 'from', changed.current_code,
                              'to', changed.qualified_code,
                              'reason', CASE changed.action WHEN 'up' THEN 'qualified'
                                                            ELSE 'review' END),
           changed.id
    FROM changed
    WHERE changed.action IN ('up', 'down')
    ORDER BY changed.id
    RETURNING 1
)
SELECT
    count(*) FILTER (WHERE action = 'up') AS upgraded,
    count(*) FILTER (WHERE action = 'down') AS downgraded,
    count(*) FILTER (WHERE action = 'start') AS grace_started,
    count(*) FILTER (WHERE action = 'clear' OR (action = 'up' AND was_short)) AS grace_cleared,
    (SELECT count(*) FROM history) AS history,
    (SELECT count(*) FROM notified) AS notified,
    count(*) AS applied
FROM changed
"""

_UPDATE_MEMBERS = """
    UPDATE members AS m
    SET tier_code = CASE WHEN d.action IN ('up', 'down') THEN d.qualified_code
                         ELSE m.tier_code END,
        tier_short_since = CASE WHEN d.action = 'start' THEN $1::timestamptz END,
        tier_manual_until = CASE WHEN d.action IN ('start', 'down') THEN NULL
                                 ELSE m.tier_manual_until END
    FROM {source} AS d
    WHERE {row} AND d.action <> 'keep'
      AND m.tier_code = d.tier_code
      AND m.tier_short_since IS NOT DISTINCT FROM d.tier_short_since
      AND m.tier_manual_until IS NOT DISTINCT FROM d.tier_manual_until
    RETURNING m.id, d.action, d.current_code, d.qualified_code, d.policy_version,
              d.tier_short_since IS NOT NULL AS was_short
"""

# Phase two, under those locks: no sale of these members can be half-way through now. A
# decision is a function of the member's standing, their qualifying value, the policy and
# ``now``; where the standing (re-checked by the update, which also keeps a concurrent change
# from being overwritten), the value (summed again, now, over the window phase one used: $5)
# and the policy version ($4) are those phase one decided on, its decision stands and is
# applied. The others are decided again from scratch (_MARK_STALE, _REDECIDE_STALE).
_APPLY_DECIDED = """
WITH policy AS (
    SELECT version FROM tier_policies ORDER BY version DESC LIMIT 1
),
fresh AS (
    SELECT s.member_id, sum(s.payable - s.refunded_amount) AS value
    FROM sales AS s
    WHERE s.member_id IS NOT NULL
      AND ($2::uuid IS NULL OR s.member_id > $2::uuid) AND s.member_id <= $3::uuid
      AND s.occurred_at >= $5::timestamptz
      AND s.member_id IN (SELECT id FROM tier_review_decided)
    GROUP BY s.member_id
),
-- In the order of the rows in the table: the update then finishes with a page before it
-- moves on to the next.
ready AS MATERIALIZED (
    SELECT d.*, policy.version AS policy_version
    FROM tier_review_decided AS d
    CROSS JOIN policy
    LEFT JOIN fresh ON fresh.member_id = d.id
    WHERE policy.version = $4::int AND d.value = greatest(coalesce(fresh.value, 0), 0)
    ORDER BY d.row_ctid
),
changed AS ({update})"""

_APPLY = (
    _APPLY_DECIDED.format(
        # The row phase one read, by its address: a row changed since has another address (and
        # fails the re-check of the standing anyway), so it is never updated on a stale decision.
        update=_UPDATE_MEMBERS.format(source="ready", row="m.ctid = d.row_ctid AND m.id = d.id")
    )
    + _RECORD
)

# The members phase two did not update (fewer rows applied than decided): a row this
# transaction updated carries its id as xmin, any other row was left alone.
_MARK_STALE = """
INSERT INTO tier_review_stale (id)
SELECT d.id FROM tier_review_decided AS d
JOIN members AS m ON m.id = d.id
WHERE m.xmin <> pg_current_xact_id()::xid
"""

# The members phase two could not apply phase one's decision to (a sale, a refund or a tier
# set by hand came in between; a new policy version): decided again, now, and updated.
_REDECIDE_STALE = (
    _DECISION.format(  # noqa: S608 (constant fragments, no input)
        members="AND m.id IN (SELECT id FROM tier_review_stale)",
        spenders="AND s.member_id IN (SELECT id FROM tier_review_stale)",
    )
    + ",\nchanged AS ("
    + _UPDATE_MEMBERS.format(source="decided", row="m.id = d.id")
    + ")"
    + _RECORD
)


_COUNTS = ("upgraded", "downgraded", "grace_started", "grace_cleared")


async def _review_batch(
    connection: asyncpg.Connection, now: datetime, low: UUID | None, high: UUID
) -> dict[str, int]:
    """One batch (low, high] in its own transaction: decide, lock the changers, update."""
    counts = dict.fromkeys(("reviewed", *_COUNTS), 0)
    async with connection.transaction():
        # JIT compiling these statements costs more than running them; the sums and sorts of
        # a batch fit in memory with a few tens of megabytes.
        await connection.execute(f"SET LOCAL jit = off; SET LOCAL work_mem = '{WORK_MEM}'")
        await connection.execute(_WORK_TABLES)
        decided = await connection.fetchrow(_DECIDE, now, low, high)
        assert decided is not None
        counts["reviewed"] = decided["reviewed"]
        if decided["changing"] == 0:
            return counts
        # Phase two's plans need to know the work table's size and that its ids are distinct
        # (a temporary table has no statistics until analysed).
        await connection.execute("ANALYZE tier_review_decided (id)")
        await connection.fetchval(_LOCK_CHANGING_ACCOUNTS)
        rows = [
            await connection.fetchrow(
                _APPLY, now, low, high, decided["policy_version"], decided["since"]
            )
        ]
        assert rows[0] is not None
        if rows[0]["applied"] < decided["changing"]:
            await connection.execute(_MARK_STALE)
            rows.append(await connection.fetchrow(_REDECIDE_STALE, now, low, high))
    for row in rows:
        assert row is not None
        if not row["history"] == row["notified"] == row["upgraded"] + row["downgraded"]:
            raise RuntimeError(f"tier review batch wrote inconsistent rows: {dict(row)}")
        for key in _COUNTS:
            counts[key] += row[key]
    return counts


async def review_tiers(
    database: Database,
    now: datetime,
    *,
    batch_size: int = REVIEW_BATCH_SIZE,
    workers: int = REVIEW_WORKERS,
) -> ReviewReport:
    """Reviews every member's tier at ``now`` under the policy in force (see the module doc).

    Takes no lock: two reviews at once are correct (each re-checks what it read) but do the
    work twice, so the scheduler runs it under the job's lock. Each batch commits: given a
    connection, it must not be inside a transaction. Running it twice at the same ``now``
    changes nothing the second time (unless ``grace_days`` is 0, where the second review drops
    whom the first found short, as the domain does).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if batch_size < 1 or workers < 1:
        raise ValueError("batch_size and workers must be at least 1")
    totals = dict.fromkeys(
        ("reviewed", "upgraded", "downgraded", "grace_started", "grace_cleared"), 0
    )
    batches = 0
    async with connection_for(database) as connection:
        async with connection.transaction():
            await connection.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
            uppers = [row["upper"] for row in await connection.fetch(_BATCH_UPPERS, batch_size)]
        ranges = list(zip([None, *uppers], uppers, strict=False))
        pending = iter(ranges)

        async def worker(worker_connection: asyncpg.Connection) -> None:
            # Batches cover disjoint member ranges, so workers never wait on each other.
            for low, high in pending:
                counts = await _review_batch(worker_connection, now, low, high)
                for key, value in counts.items():
                    totals[key] += value

        if workers == 1 or isinstance(database, asyncpg.Connection) or len(ranges) < 2:
            await worker(connection)
        else:
            async with AsyncExitStack() as stack:
                extra = [
                    await stack.enter_async_context(connection_for(database))
                    for _ in range(min(workers, len(ranges)) - 1)
                ]
                await asyncio.gather(*(worker(c) for c in [connection, *extra]))
        batches = len(ranges)
    return ReviewReport(
        members_reviewed=totals["reviewed"],
        upgraded=totals["upgraded"],
        downgraded=totals["downgraded"],
        grace_started=totals["grace_started"],
        grace_cleared=totals["grace_cleared"],
        batches=batches,
    )
