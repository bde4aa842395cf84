# ruff: noqa: S608  (the f-strings join constant SQL fragments; every value is a parameter)
"""CRM analytics in SQL, set-based: RFM scores and segments, lifecycle stages and flows,
churn warnings, regions, and the members of a segment (domain/crm.py has the definitions).

Days are local calendar days in the programme's time zone: a sale belongs to the date of its
``occurred_at`` there, a refund to the date of its ``created_at``. A window of N days ending
on D runs from the local midnight starting D - N + 1 to the one ending D.
Every report reads in one REPEATABLE READ, read-only transaction.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from adapters.persistence.tables import MemberRow
from app.batch_jobs import RfmSnapshot
from app.reports import (
    ChurnRisk,
    ChurnRiskQuery,
    LifecycleReport,
    RegionRow,
    RfmReport,
    SegmentRow,
    StageFlow,
)
from domain.crm import (
    DAYS_SINCE_FIRST_SALE,
    DAYS_SINCE_LAST_SALE,
    SEGMENT_RULES,
    STAGE_RULES,
    CrmSettings,
    LifecycleSegmentSpec,
    LifecycleStage,
    MemberCrmProfile,
    RfmScore,
    RfmSegment,
    RfmSegmentSpec,
    RfmValues,
    SegmentSpec,
    TierSegmentSpec,
)
from domain.errors import InvalidInput
from domain.time_range import STORED_CEILING, STORED_FLOOR


def _in(scores: frozenset[int]) -> str:
    return "(" + ", ".join(str(s) for s in sorted(scores)) + ")"


# The segment table of domain/crm.py, as SQL: one definition for Python and PostgreSQL.
SEGMENT_CASE = (
    "CASE "
    + " ".join(
        f"WHEN r IN {_in(rs)} AND f IN {_in(fs)} THEN '{segment.value}'"
        for rs, fs, segment in SEGMENT_RULES
    )
    + " END"
)


def _sale_day(column: str) -> str:
    """A sale's local calendar day (time zone $1). A stored time outside the computable range
    (domain.time_range; -infinity from an older version) counts as that range's bound, as
    Python reads it (stored_times): date arithmetic on an infinite day is an error."""
    return (
        f"(least(greatest({column}, '{STORED_FLOOR.isoformat()}'::timestamptz), "
        f"'{STORED_CEILING.isoformat()}'::timestamptz) AT TIME ZONE $1)::date"
    )


# $1 time zone, $2 as_of (date), $3 window_days.
_RFM_CTES = f"""
bounds AS (
    SELECT (($2::date - ($3::int - 1))::timestamp AT TIME ZONE $1) AS start_at,
           (($2::date + 1)::timestamp AT TIME ZONE $1) AS end_at
),
bought AS (
    SELECT s.member_id, count(*) AS frequency, sum(s.payable) AS sales,
           max({_sale_day("s.occurred_at")}) AS last_on
    FROM sales s CROSS JOIN bounds b
    WHERE s.member_id IS NOT NULL AND s.occurred_at >= b.start_at AND s.occurred_at < b.end_at
    GROUP BY s.member_id
),
refunded AS (
    SELECT f.member_id, sum(f.amount) AS amount
    FROM refunds f CROSS JOIN bounds b
    WHERE f.member_id IS NOT NULL AND f.created_at >= b.start_at AND f.created_at < b.end_at
    GROUP BY f.member_id
),
ranked AS (
    SELECT v.*, count(*) OVER () AS n,
           rank() OVER (ORDER BY v.recency_days DESC) AS r_rank,
           rank() OVER (ORDER BY v.frequency) AS f_rank,
           rank() OVER (ORDER BY v.monetary) AS m_rank
    FROM (
        SELECT b.member_id, ($2::date - b.last_on) AS recency_days, b.frequency,
               b.sales - coalesce(r.amount, 0) AS monetary
        FROM bought b LEFT JOIN refunded r USING (member_id)
    ) v
),
scored AS (
    SELECT member_id, recency_days, frequency, monetary,
           1 + (5 * (r_rank - 1)) / n AS r,
           1 + (5 * (f_rank - 1)) / n AS f,
           1 + (5 * (m_rank - 1)) / n AS m
    FROM ranked
),
-- Computed once: joined to other rows (churn warnings), a misestimate would recompute the
-- window functions per row.
rfm AS MATERIALIZED (
    SELECT scored.*, {SEGMENT_CASE} AS segment FROM scored
)
"""

_RFM_REPORT = f"""
WITH {_RFM_CTES}
SELECT segment, count(*) AS members,
       round(avg(recency_days), 2) AS avg_recency_days, round(avg(frequency), 2) AS avg_frequency,
       round(avg(monetary), 2) AS avg_monetary, sum(monetary) AS total_monetary,
       round(avg(r), 2) AS avg_r, round(avg(f), 2) AS avg_f, round(avg(m), 2) AS avg_m
FROM rfm GROUP BY segment
"""

_RFM_MEMBERS = f"WITH {_RFM_CTES} SELECT member_id FROM rfm WHERE segment = $4 ORDER BY member_id"
_RFM_SNAPSHOT = f"""
WITH {_RFM_CTES},
stored AS (
    INSERT INTO member_rfm_scores (member_id, as_of, window_days, recency_days, frequency,
                                   monetary, r, f, m, segment, computed_at)
    SELECT member_id, $2, $3, recency_days, frequency, monetary, r, f, m, segment, $4 FROM rfm
    RETURNING 1
)
SELECT count(*) FROM stored
"""
_RFM_ALL = f"WITH {_RFM_CTES} SELECT * FROM rfm ORDER BY member_id"


# The thresholds' parameters in every lifecycle statement: $4 new_days, $5 dormant_days,
# $6 churned_days (in the order of _thresholds).
_THRESHOLD_PARAMS = {"new_days": "$4", "dormant_days": "$5", "churned_days": "$6"}


def stage_case(
    last: str, first: str, day: str, *, params: Mapping[str, str] = _THRESHOLD_PARAMS
) -> str:
    """A member's stage on ``day`` from the local dates of their first and last sale so far,
    as SQL generated from the domain's table (STAGE_RULES): one definition for Python and
    PostgreSQL. Dates subtract to whole days in SQL, as ``(a - b).days`` in Python."""
    since = {DAYS_SINCE_LAST_SALE: last, DAYS_SINCE_FIRST_SALE: first}
    rules = " ".join(
        f"WHEN {day} - {since[rule.days_since]} {'<' if rule.under else '>='} "
        f"{params[rule.threshold]} THEN '{rule.stage.value}'"
        for rule in STAGE_RULES
    )
    return (
        f"CASE WHEN {last} IS NULL THEN '{LifecycleStage.PROSPECT.value}' {rules} "
        f"ELSE '{LifecycleStage.ACTIVE.value}' END"
    )


# $1 zone, $2 start day, $3 end day (stages on each, inclusive of the day), $4-$6 thresholds.
# Members count from the day they enrolled; at the start, one enrolled later has no stage.
_LIFECYCLE_CTES = f"""
sale_days AS (
    SELECT member_id, min(d) AS first_on, max(d) FILTER (WHERE d <= $2::date) AS last_start,
           max(d) AS last_end
    FROM (
        SELECT member_id, {_sale_day("occurred_at")} AS d FROM sales
        WHERE member_id IS NOT NULL
          AND occurred_at < (($3::date + 1)::timestamp AT TIME ZONE $1)
    ) s
    GROUP BY member_id
),
staged AS (
    SELECT m.id AS member_id, m.tier_code,
           CASE WHEN m.enrolled_at < (($2::date + 1)::timestamp AT TIME ZONE $1)
                THEN {stage_case("d.last_start", "d.first_on", "$2::date")} END AS start_stage,
           {stage_case("d.last_end", "d.first_on", "$3::date")} AS stage,
           d.last_end AS last_on
    FROM members m LEFT JOIN sale_days d ON d.member_id = m.id
    WHERE m.enrolled_at < (($3::date + 1)::timestamp AT TIME ZONE $1)
)
"""

_LIFECYCLE_FLOWS = f"""
WITH {_LIFECYCLE_CTES}
SELECT start_stage, stage, count(*) AS members FROM staged GROUP BY start_stage, stage
"""
_LIFECYCLE_MEMBERS = (
    f"WITH {_LIFECYCLE_CTES} SELECT member_id FROM staged WHERE stage = $7 ORDER BY member_id"
)
_SALE_DAYS_OF_MEMBER = f"""
SELECT min(d) AS first_on, max(d) AS last_on FROM (
    SELECT {_sale_day("occurred_at")} AS d FROM sales
    WHERE member_id = $2 AND occurred_at < (($3::date + 1)::timestamp AT TIME ZONE $1)
) s
"""

# Churn warnings. $1-$3 as RFM (window ending today), $4 dormant_days, $5 churned_days,
# $6 today, $7 within_days, $8 limit, $9/$10 the cursor (monetary, member id) or NULL.
_CHURN_RISK = f"""
WITH {_RFM_CTES},
top_tiers AS (
    SELECT code FROM tiers WHERE rank > (SELECT min(rank) FROM tiers) ORDER BY rank DESC LIMIT 2
),
last_sale AS (
    SELECT member_id, max({_sale_day("occurred_at")}) AS last_on FROM sales
    WHERE member_id IS NOT NULL AND occurred_at < (($6::date + 1)::timestamp AT TIME ZONE $1)
    GROUP BY member_id
),
warned AS (
    SELECT m.id AS member_id, m.tier_code, l.last_on, coalesce(r.monetary, 0) AS monetary,
           r.m AS m_score, coalesce(r.m = 5, false) AS top_quintile,
           m.tier_code IN (SELECT code FROM top_tiers) AS top_tier
    FROM last_sale l
    JOIN members m ON m.id = l.member_id
    LEFT JOIN rfm r ON r.member_id = l.member_id
    WHERE $6::date - l.last_on >= $4 AND $6::date - l.last_on < $5
      AND $6::date - l.last_on < $4 + $7
)
SELECT * FROM warned
WHERE (top_quintile OR top_tier)
  AND ($9::bigint IS NULL OR (monetary, member_id) < ($9::bigint, $10::uuid))
ORDER BY monetary DESC, member_id DESC
LIMIT $8
"""

# $1 zone, $2/$3 the period's first and last local day, or NULL for all time.
_REGIONS = """
WITH bounds AS (
    SELECT coalesce(($2::date)::timestamp AT TIME ZONE $1, '-infinity') AS start_at,
           coalesce(($3::date + 1)::timestamp AT TIME ZONE $1, 'infinity') AS end_at
),
bought AS (
    SELECT s.member_id, count(*) AS sales, sum(s.payable) AS amount
    FROM sales s CROSS JOIN bounds b
    WHERE s.member_id IS NOT NULL AND s.occurred_at >= b.start_at AND s.occurred_at < b.end_at
    GROUP BY s.member_id
),
refunded AS (
    SELECT f.member_id, sum(f.amount) AS amount
    FROM refunds f CROSS JOIN bounds b
    WHERE f.member_id IS NOT NULL AND f.created_at >= b.start_at AND f.created_at < b.end_at
    GROUP BY f.member_id
)
SELECT m.region, count(*) AS members, count(bt.member_id) AS buyers,
       coalesce(sum(bt.sales), 0) AS sales,
       coalesce(sum(bt.amount), 0) - coalesce(sum(rf.amount), 0) AS net_spend
FROM members m CROSS JOIN bounds b
LEFT JOIN bought bt ON bt.member_id = m.id
LEFT JOIN refunded rf ON rf.member_id = m.id
WHERE m.enrolled_at < b.end_at
GROUP BY m.region
ORDER BY net_spend DESC, m.region NULLS LAST
"""


# Grouping a million members hashes in memory instead of spilling to disk.
REPORT_MEMORY = "SET LOCAL work_mem = '256MB'"
ZERO = Decimal("0.00")
SHARE_PLACES = Decimal("0.0001")


async def rfm_report(
    connection: asyncpg.Connection, *, zone: str, as_of: date, window_days: int
) -> RfmReport:
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        await connection.execute(REPORT_MEMORY)
        rows = {
            r["segment"]: r for r in await connection.fetch(_RFM_REPORT, zone, as_of, window_days)
        }
    scored = sum(int(r["members"]) for r in rows.values())
    segments = []
    for segment in RfmSegment:
        row = rows.get(segment.value)
        members = int(row["members"]) if row else 0
        segments.append(
            SegmentRow(
                segment=segment,
                members=members,
                share=(Decimal(members) / scored).quantize(SHARE_PLACES) if scored else ZERO,
                avg_recency_days=row["avg_recency_days"] if row else ZERO,
                avg_frequency=row["avg_frequency"] if row else ZERO,
                avg_monetary=row["avg_monetary"] if row else ZERO,
                total_monetary=int(row["total_monetary"]) if row else 0,
                avg_r=row["avg_r"] if row else ZERO,
                avg_f=row["avg_f"] if row else ZERO,
                avg_m=row["avg_m"] if row else ZERO,
            )
        )
    return RfmReport(as_of, window_days, scored, segments)


async def rfm_scores(
    connection: asyncpg.Connection, *, zone: str, as_of: date, window_days: int
) -> dict[UUID, RfmScore]:
    """Every scored member's values and scores (for tests and exports)."""
    rows = await connection.fetch(_RFM_ALL, zone, as_of, window_days)
    return {r["member_id"]: _score(r) for r in rows}


def _score(row: Any) -> RfmScore:
    return RfmScore(
        RfmValues(int(row["recency_days"]), int(row["frequency"]), int(row["monetary"])),
        int(row["r"]),
        int(row["f"]),
        int(row["m"]),
    )


def _thresholds(crm: CrmSettings) -> tuple[int, int, int]:
    return crm.new_days, crm.dormant_days, crm.churned_days


async def lifecycle_report(
    connection: asyncpg.Connection, *, zone: str, start: date, end: date, crm: CrmSettings
) -> LifecycleReport:
    """Stages at the start of [start, end) (end of the day before) and at its end (end of
    the last day), and how many members moved from each stage to each other."""
    before, last = start - timedelta(days=1), end - timedelta(days=1)
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        await connection.execute(REPORT_MEMORY)
        rows = await connection.fetch(_LIFECYCLE_FLOWS, zone, before, last, *_thresholds(crm))
    at_start = dict.fromkeys(LifecycleStage, 0)
    at_end = dict.fromkeys(LifecycleStage, 0)
    flows = []
    for row in rows:
        origin = LifecycleStage(row["start_stage"]) if row["start_stage"] else None
        target = LifecycleStage(row["stage"])
        members = int(row["members"])
        at_end[target] += members
        if origin is not None:
            at_start[origin] += members
        if origin != target:
            flows.append(StageFlow(origin, target, members))
    order = list(LifecycleStage)
    flows.sort(key=lambda f: (-1 if f.from_stage is None else order.index(f.from_stage),
                              order.index(f.to_stage)))  # fmt: skip
    return LifecycleReport(start, end, at_start, at_end, flows)


async def churn_risk(connection: asyncpg.Connection, query: ChurnRiskQuery) -> list[ChurnRisk]:
    """The churn warnings (app.reports.ChurnRiskQuery says who they are)."""
    crm, after = query.crm, query.after
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        await connection.execute(REPORT_MEMORY)
        rows = await connection.fetch(
            _CHURN_RISK,
            query.zone,
            query.today,
            query.window_days,
            crm.dormant_days,
            crm.churned_days,
            query.today,
            query.within_days,
            query.limit,
            after[0] if after else None,
            after[1] if after else None,
        )
    return [churn_risk_of(r, crm) for r in rows]


def churn_risk_of(r: Any, crm: CrmSettings) -> ChurnRisk:
    return ChurnRisk(
        member_id=r["member_id"],
        tier_code=r["tier_code"],
        last_sale_on=r["last_on"],
        dormant_since=r["last_on"] + timedelta(days=crm.dormant_days),
        monetary=int(r["monetary"]),
        m_score=r["m_score"],
        top_quintile=r["top_quintile"],
        top_tier=r["top_tier"],
    )


async def regions_report(
    connection: asyncpg.Connection, *, zone: str, first_day: date | None, last_day: date | None
) -> list[RegionRow]:
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        await connection.execute(REPORT_MEMORY)
        rows = await connection.fetch(_REGIONS, zone, first_day, last_day)
    return [
        RegionRow(r["region"], r["members"], r["buyers"], int(r["sales"]), int(r["net_spend"]))
        for r in rows
    ]


# Segments ------------------------------------------------------------------------------------


def segment_sql(
    spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings, first_param: int = 1
) -> tuple[str, list[object]]:
    """``SELECT member_id ...`` for the members of a segment and its arguments, numbered from
    ``$first_param``: for INSERT ... SELECT (issuing coupons to a segment in one statement)."""
    if isinstance(spec, RfmSegmentSpec):
        sql = _RFM_MEMBERS
        args: list[object] = [zone, spec.as_of or today, spec.window_days, spec.segment.value]
    elif isinstance(spec, LifecycleSegmentSpec):
        day = spec.as_of or today
        sql = _LIFECYCLE_MEMBERS
        args = [zone, day, day, *_thresholds(crm), spec.stage.value]
    else:
        sql = "SELECT id AS member_id FROM members WHERE tier_code = $1 ORDER BY id"
        args = [spec.tier_code]
    if first_param != 1:
        sql = re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + first_param - 1}", sql)
    return sql, args


class PostgresSegmentResolver:
    """The SegmentResolver port, inside the unit of work's transaction."""

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        engine: Any = MemberRow._meta.db
        transaction = engine.current_transaction.get()
        if transaction is not None:
            yield transaction.connection
        else:
            async with engine.pool.acquire() as connection:
                yield connection

    async def _check(self, connection: asyncpg.Connection, spec: SegmentSpec) -> None:
        if isinstance(spec, TierSegmentSpec) and not await connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM tiers WHERE code = $1)", spec.tier_code
        ):
            raise InvalidInput(f"no tier {spec.tier_code!r}", field="tier")

    async def count(self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings) -> int:
        sql, args = segment_sql(spec, today=today, zone=zone, crm=crm)
        async with self._connection() as connection:
            await self._check(connection, spec)
            counted: int = await connection.fetchval(f"SELECT count(*) FROM ({sql}) s", *args)
            return counted

    async def member_ids(
        self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings
    ) -> Sequence[UUID]:
        sql, args = segment_sql(spec, today=today, zone=zone, crm=crm)
        async with self._connection() as connection:
            await self._check(connection, spec)
            return [r["member_id"] for r in await connection.fetch(sql, *args)]

    async def profile(
        self, member_id: UUID, *, today: date, zone: str, crm: CrmSettings
    ) -> MemberCrmProfile:
        """Scores from the latest snapshot (scoring everyone is a report's work, not a page
        view's); the stage from the member's own first and last sale."""
        async with self._connection() as connection:
            row = await connection.fetchrow(
                "SELECT * FROM member_rfm_scores WHERE member_id = $1", member_id
            )
            days = await connection.fetchrow(_SALE_DAYS_OF_MEMBER, zone, member_id, today)
        return MemberCrmProfile(
            as_of=today,
            stage=crm.stage(days["first_on"], days["last_on"], today),
            rfm=_score(row) if row else None,
            rfm_as_of=row["as_of"] if row else None,
            window_days=row["window_days"] if row else None,
            rfm_computed_at=row["computed_at"] if row else None,
        )


RFM_SNAPSHOT_LOCK = (0x4C4F59, 10)

# The console's report snapshots (console_snapshots.py): the latest of each, by name.
WRITE_SNAPSHOT = """
INSERT INTO report_snapshots (name, as_of, computed_at, body) VALUES ($1, $2, $3, $4::jsonb)
ON CONFLICT (name) DO UPDATE
SET as_of = EXCLUDED.as_of, computed_at = EXCLUDED.computed_at, body = EXCLUDED.body
"""
# The RFM grid's cells for the console's heat map, counted from the scores just stored:
# $1 as_of, $2 computed_at, $3 window_days.
_WRITE_RFM_GRID = """
INSERT INTO report_snapshots (name, as_of, computed_at, body)
SELECT 'rfm_grid', $1, $2, jsonb_build_object(
    'window_days', $3::int,
    'cells', coalesce(jsonb_agg(jsonb_build_array(r, f, members, monetary) ORDER BY r, f),
                      '[]'::jsonb))
FROM (
    SELECT r, f, count(*) AS members, sum(monetary) AS monetary
    FROM member_rfm_scores GROUP BY r, f
) cells
ON CONFLICT (name) DO UPDATE
SET as_of = EXCLUDED.as_of, computed_at = EXCLUDED.computed_at, body = EXCLUDED.body
"""


async def snapshot_rfm(
    connection: asyncpg.Connection, *, zone: str, as_of: date, window_days: int, now: datetime
) -> RfmSnapshot:
    """Replaces the stored scores with everyone's as of ``as_of``, and the console's grid of
    their cell counts, in one transaction."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1, $2)", *RFM_SNAPSHOT_LOCK)
        await connection.execute(REPORT_MEMORY)
        await connection.execute("DELETE FROM member_rfm_scores")
        scored = await connection.fetchval(_RFM_SNAPSHOT, zone, as_of, window_days, now)
        await connection.execute(_WRITE_RFM_GRID, as_of, now, window_days)
    return RfmSnapshot(as_of, window_days, scored)
