# ruff: noqa: S608  (the f-strings join constant SQL fragments; every value is a parameter)
"""The console's snapshots (issue #18): what the dashboard and the CRM pages read, so that a
page load reads a few rows whatever the number of members.

- ``dashboard_days``: one row per local day (programme time zone) of members, sales, points,
  coupons and draw plays, written by ``loyalty jobs snapshot-dashboard``. Incremental: a run
  rewrites the days not stored complete yet, always yesterday (a till offline overnight sends
  yesterday's sales today) and today, never more than ``days`` back; older days are final.
  Today's row also gets the standing as the run found it (points owed, members per tier), so
  the standing of each past day is that of its last run.
- ``report_snapshots``: the latest lifecycle flows and regions of the last ``days`` days
  (same job), and the RFM grid's cell counts (``loyalty jobs score-rfm``, in the transaction
  that replaces the scores), as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from adapters.persistence import crm_reports
from adapters.persistence.config_cache import program_from
from app.batch_jobs import DashboardSnapshot
from app.reports import (
    ChurnSnapshot,
    DashboardDay,
    LifecycleReport,
    RegionRow,
    RegionsReport,
    RfmCell,
    RfmGrid,
    ScoredMember,
    Snapshotted,
    StageFlow,
    Standing,
)
from domain.crm import CrmSettings, LifecycleStage, RfmSegment

# Counted by the local day of the event: $1 zone, $2 first day, $3 last day (inclusive).
_DAY_FIGURES = """
WITH days AS (
    SELECT d::date AS day FROM generate_series($2::date, $3::date, interval '1 day') AS d
),
span AS (
    SELECT ($2::date::timestamp AT TIME ZONE $1) AS lo,
           (($3::date + 1)::timestamp AT TIME ZONE $1) AS hi
),
earlier AS (SELECT count(*) AS n FROM members, span WHERE enrolled_at < span.lo),
joined AS (
    SELECT (enrolled_at AT TIME ZONE $1)::date AS day, count(*) AS n
    FROM members, span WHERE enrolled_at >= span.lo AND enrolled_at < span.hi GROUP BY 1
),
sold AS (
    SELECT (occurred_at AT TIME ZONE $1)::date AS day, count(*) AS n, sum(payable) AS amount
    FROM sales, span WHERE occurred_at >= span.lo AND occurred_at < span.hi GROUP BY 1
),
points AS (
    SELECT (created_at AT TIME ZONE $1)::date AS day,
           coalesce(sum(points) FILTER (WHERE entry_type = 'earn'), 0) AS earned,
           coalesce(-sum(points) FILTER (WHERE entry_type = 'redeem'), 0) AS redeemed
    FROM points_entries, span WHERE created_at >= span.lo AND created_at < span.hi GROUP BY 1
),
issued AS (
    SELECT (issued_at AT TIME ZONE $1)::date AS day, count(*) AS n
    FROM coupons, span WHERE issued_at >= span.lo AND issued_at < span.hi GROUP BY 1
),
used AS (
    SELECT (redeemed_at AT TIME ZONE $1)::date AS day, count(*) AS n
    FROM coupons, span WHERE redeemed_at >= span.lo AND redeemed_at < span.hi GROUP BY 1
),
played AS (
    SELECT (played_at AT TIME ZONE $1)::date AS day, count(*) AS n
    FROM draw_chances, span WHERE played_at >= span.lo AND played_at < span.hi GROUP BY 1
)
SELECT d.day,
       earlier.n + sum(coalesce(joined.n, 0)) OVER (ORDER BY d.day) AS members_total,
       coalesce(joined.n, 0) AS members_new,
       coalesce(sold.n, 0) AS sales, coalesce(sold.amount, 0) AS sales_amount,
       coalesce(points.earned, 0) AS points_earned,
       coalesce(points.redeemed, 0) AS points_redeemed,
       coalesce(issued.n, 0) AS coupons_issued, coalesce(used.n, 0) AS coupons_redeemed,
       coalesce(played.n, 0) AS draw_plays
FROM days d CROSS JOIN earlier
LEFT JOIN joined USING (day) LEFT JOIN sold USING (day) LEFT JOIN points USING (day)
LEFT JOIN issued USING (day) LEFT JOIN used USING (day) LEFT JOIN played USING (day)
"""

_FIGURES = (
    "members_total",
    "members_new",
    "sales",
    "sales_amount",
    "points_earned",
    "points_redeemed",
    "coupons_issued",
    "coupons_redeemed",
    "draw_plays",
)

# $4 today (rows before it are complete), $5 now.
_WRITE_DAYS = f"""
INSERT INTO dashboard_days (day, {", ".join(_FIGURES)}, complete, computed_at)
SELECT day, {", ".join(_FIGURES)}, day < $4::date, $5 FROM ({_DAY_FIGURES}) AS figures
ON CONFLICT (day) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _FIGURES)},
    complete = EXCLUDED.complete, computed_at = EXCLUDED.computed_at
"""

# $1 today.
_WRITE_STANDING = """
UPDATE dashboard_days SET
    (points_available, points_pending, points_debt) = (
        SELECT coalesce(sum(available), 0), coalesce(sum(pending), 0), coalesce(sum(debt), 0)
        FROM points_accounts
    ),
    members_per_tier = (
        SELECT jsonb_object_agg(t.code, coalesce(c.n, 0))
        FROM tiers t
        LEFT JOIN (SELECT tier_code, count(*) AS n FROM members GROUP BY tier_code) c
               ON c.tier_code = t.code
    )
WHERE day = $1
"""

_LAST_COMPLETE = "SELECT max(day) FROM dashboard_days WHERE complete"


def days_to_write(today: date, last_complete: date | None, days: int) -> tuple[date, date]:
    """The days a run rewrites: from the first not stored complete, at least yesterday and
    today, at most ``days`` days back."""
    oldest = today - timedelta(days=days - 1)
    if last_complete is None:
        return oldest, today
    first = min(last_complete + timedelta(days=1), today - timedelta(days=1))
    return max(first, oldest), today


async def snapshot_dashboard(
    connection: asyncpg.Connection, now: datetime, *, days: int
) -> DashboardSnapshot:
    program = program_from(await connection.fetchrow("SELECT * FROM program_settings"))
    zone = program.time_zone
    today = now.astimezone(program.zone).date()
    async with connection.transaction(isolation="repeatable_read"):
        await connection.execute(crm_reports.REPORT_MEMORY)
        first, last = days_to_write(today, await connection.fetchval(_LAST_COMPLETE), days)
        await connection.execute(_WRITE_DAYS, zone, first, last, today, now)
        await connection.execute(_WRITE_STANDING, today)
    # The reports open their own read-only snapshot each.
    start = today - timedelta(days=days - 1)
    lifecycle = await crm_reports.lifecycle_report(
        connection, zone=zone, start=start, end=today + timedelta(days=1), crm=program.crm
    )
    regions = await crm_reports.regions_report(
        connection, zone=zone, first_day=start, last_day=today
    )
    await connection.execute(
        crm_reports.WRITE_SNAPSHOT, "lifecycle", today, now, _lifecycle_json(lifecycle)
    )
    await connection.execute(
        crm_reports.WRITE_SNAPSHOT, "regions", today, now, _regions_json(start, today, regions)
    )
    return DashboardSnapshot(first, last, (last - first).days + 1)


# Reading ---------------------------------------------------------------------------------------


async def dashboard_days(
    connection: asyncpg.Connection, *, first_day: date, last_day: date
) -> list[DashboardDay]:
    rows = await connection.fetch(
        "SELECT * FROM dashboard_days WHERE day BETWEEN $1 AND $2 ORDER BY day",
        first_day,
        last_day,
    )
    return [_day(r) for r in rows]


def _day(r: Any) -> DashboardDay:
    standing = None
    if r["points_available"] is not None:
        tiers = _json(r["members_per_tier"])
        standing = Standing(
            int(r["points_available"]),
            int(r["points_pending"]),
            int(r["points_debt"]),
            {str(code): int(n) for code, n in tiers.items()},
        )
    return DashboardDay(
        day=r["day"],
        members_total=int(r["members_total"]),
        members_new=int(r["members_new"]),
        sales=int(r["sales"]),
        sales_amount=int(r["sales_amount"]),
        points_earned=int(r["points_earned"]),
        points_redeemed=int(r["points_redeemed"]),
        coupons_issued=int(r["coupons_issued"]),
        coupons_redeemed=int(r["coupons_redeemed"]),
        draw_plays=int(r["draw_plays"]),
        complete=r["complete"],
        computed_at=r["computed_at"],
        standing=standing,
    )


def _json(value: Any) -> Any:
    """A jsonb value as asyncpg gives it: text, unless the pool registered a codec."""
    return json.loads(value) if isinstance(value, str) else value


async def _snapshot(connection: asyncpg.Connection, name: str) -> Any:
    return await connection.fetchrow("SELECT * FROM report_snapshots WHERE name = $1", name)


async def rfm_grid(connection: asyncpg.Connection) -> RfmGrid | None:
    row = await _snapshot(connection, "rfm_grid")
    if row is None:
        return None
    body = _json(row["body"])
    cells = [RfmCell(r, f, members, monetary) for r, f, members, monetary in body["cells"]]
    return RfmGrid(row["as_of"], int(body["window_days"]), row["computed_at"], cells)


_CELL_MEMBERS = """
SELECT s.*, m.name, m.tier_code
FROM member_rfm_scores s JOIN members m ON m.id = s.member_id
WHERE s.r = $1 AND s.f = $2
  AND ($4::bigint IS NULL OR (s.monetary, s.member_id) < ($4::bigint, $5::uuid))
ORDER BY s.monetary DESC, s.member_id DESC
LIMIT $3
"""


async def rfm_cell_members(
    connection: asyncpg.Connection, *, r: int, f: int, limit: int, after: tuple[int, UUID] | None
) -> list[ScoredMember]:
    rows = await connection.fetch(
        _CELL_MEMBERS, r, f, limit, after[0] if after else None, after[1] if after else None
    )
    return [
        ScoredMember(
            member_id=row["member_id"],
            name=row["name"],
            tier_code=row["tier_code"],
            recency_days=int(row["recency_days"]),
            frequency=int(row["frequency"]),
            monetary=int(row["monetary"]),
            r=int(row["r"]),
            f=int(row["f"]),
            m=int(row["m"]),
            segment=RfmSegment(row["segment"]),
        )
        for row in rows
    ]


def _lifecycle_json(report: LifecycleReport) -> str:
    return json.dumps(
        {
            "start": report.start.isoformat(),
            "end": report.end.isoformat(),
            "at_start": {stage.value: n for stage, n in report.at_start.items()},
            "at_end": {stage.value: n for stage, n in report.at_end.items()},
            "flows": [
                [f.from_stage.value if f.from_stage else None, f.to_stage.value, f.members]
                for f in report.flows
            ],
        }
    )


async def lifecycle_snapshot(
    connection: asyncpg.Connection,
) -> Snapshotted[LifecycleReport] | None:
    row = await _snapshot(connection, "lifecycle")
    if row is None:
        return None
    body = _json(row["body"])
    report = LifecycleReport(
        start=date.fromisoformat(body["start"]),
        end=date.fromisoformat(body["end"]),
        at_start={LifecycleStage(s): int(n) for s, n in body["at_start"].items()},
        at_end={LifecycleStage(s): int(n) for s, n in body["at_end"].items()},
        flows=[
            StageFlow(LifecycleStage(a) if a else None, LifecycleStage(b), int(n))
            for a, b, n in body["flows"]
        ],
    )
    return Snapshotted(row["computed_at"], report)


def _regions_json(first: date, last: date, rows: Sequence[RegionRow]) -> str:
    return json.dumps(
        {
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "rows": [[r.region, r.members, r.buyers, r.sales, r.net_spend] for r in rows],
        }
    )


async def regions_snapshot(connection: asyncpg.Connection) -> Snapshotted[RegionsReport] | None:
    row = await _snapshot(connection, "regions")
    if row is None:
        return None
    body = _json(row["body"])
    report = RegionsReport(
        date.fromisoformat(body["first_day"]),
        date.fromisoformat(body["last_day"]),
        [RegionRow(region, members, buyers, sales, net) for region, members, buyers, sales, net
         in body["rows"]],
    )  # fmt: skip
    return Snapshotted(row["computed_at"], report)


# Churn warnings from the RFM snapshot: $1 dormant_days, $2 churned_days, $3 within_days,
# $4 limit, $5/$6 the (monetary, member id) cursor or NULL. As crm_reports._CHURN_RISK, with
# the snapshot's day as today and its scores in place of scoring everyone per page load.
_CHURN_FROM_SNAPSHOT = """
WITH top_tiers AS (
    SELECT code FROM tiers WHERE rank > (SELECT min(rank) FROM tiers) ORDER BY rank DESC LIMIT 2
)
SELECT s.member_id, m.tier_code, s.as_of - s.recency_days AS last_on, s.monetary,
       s.m AS m_score, s.m = 5 AS top_quintile,
       m.tier_code IN (SELECT code FROM top_tiers) AS top_tier
FROM member_rfm_scores s JOIN members m ON m.id = s.member_id
WHERE s.recency_days >= $1 AND s.recency_days < $2 AND s.recency_days < $1 + $3
  AND (s.m = 5 OR m.tier_code IN (SELECT code FROM top_tiers))
  AND ($5::bigint IS NULL OR (s.monetary, s.member_id) < ($5::bigint, $6::uuid))
ORDER BY s.monetary DESC, s.member_id DESC
LIMIT $4
"""


async def churn_risk_snapshot(
    connection: asyncpg.Connection,
    *,
    crm: CrmSettings,
    within_days: int,
    limit: int,
    after: tuple[int, UUID] | None,
) -> ChurnSnapshot | None:
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        grid = await _snapshot(connection, "rfm_grid")
        if grid is None:
            return None
        rows = await connection.fetch(
            _CHURN_FROM_SNAPSHOT,
            crm.dormant_days,
            crm.churned_days,
            within_days,
            limit,
            after[0] if after else None,
            after[1] if after else None,
        )
    return ChurnSnapshot(
        grid["as_of"], grid["computed_at"], [crm_reports.churn_risk_of(r, crm) for r in rows]
    )
