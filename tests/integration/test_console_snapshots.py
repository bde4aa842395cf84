"""The console's snapshots (adapters/persistence/console_snapshots.py) on a seeded programme:
the dashboard's days equal the same figures counted here row by row in Python, a later run
rewrites only the recent days, the RFM grid matches the scores it counts, and a cell's
members come a page at a time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence import console_snapshots
from adapters.persistence.console_snapshots import days_to_write
from adapters.persistence.crm_reports import (
    churn_risk,
    lifecycle_report,
    regions_report,
    snapshot_rfm,
)
from app.reports import ChurnRiskQuery
from app.scheduling import DASHBOARD_DAYS, JOBS_BY_NAME, run_job
from domain.crm import CrmSettings
from tests.bench.console_seed import seed
from tests.support.fakes import FixedClock
from tests.support.job_ports import job_ports_on

pytestmark = pytest.mark.db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai
TODAY = NOW.astimezone(SHANGHAI).date()


def _day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


async def _expected(connection: asyncpg.Connection) -> dict[date, dict[str, int]]:
    """Every figure of every day, counted in Python from the rows themselves."""
    first = TODAY - timedelta(days=DASHBOARD_DAYS - 1)
    figures: dict[date, Counter[str]] = {
        first + timedelta(days=n): Counter() for n in range(DASHBOARD_DAYS)
    }

    def add(at: datetime | None, name: str, amount: int = 1) -> None:
        if at is not None and _day(at) in figures:
            figures[_day(at)][name] += amount

    enrolled = [r["enrolled_at"] for r in await connection.fetch("SELECT enrolled_at FROM members")]
    for at in enrolled:
        add(at, "members_new")
    for r in await connection.fetch("SELECT occurred_at, payable FROM sales"):
        add(r["occurred_at"], "sales")
        add(r["occurred_at"], "sales_amount", r["payable"])
    for r in await connection.fetch("SELECT entry_type, points, created_at FROM points_entries"):
        if r["entry_type"] == "earn":
            add(r["created_at"], "points_earned", r["points"])
        if r["entry_type"] == "redeem":
            add(r["created_at"], "points_redeemed", -r["points"])
    for r in await connection.fetch("SELECT issued_at, redeemed_at FROM coupons"):
        add(r["issued_at"], "coupons_issued")
        add(r["redeemed_at"], "coupons_redeemed")
    for r in await connection.fetch("SELECT played_at FROM draw_chances"):
        add(r["played_at"], "draw_plays")
    names = console_snapshots._FIGURES
    return {
        day: {
            **{name: counted[name] for name in names},
            "members_total": sum(1 for at in enrolled if _day(at) <= day),
        }
        for day, counted in figures.items()
    }


async def test_the_dashboard_snapshot_equals_the_figures_counted_row_by_row(
    engine: PostgresEngine, clean_db: str
) -> None:
    connection = await asyncpg.connect(clean_db)
    try:
        seeded = await seed(connection, members=400, sales_per_member=3, now=NOW, days=45)
        outcome = await run_job(
            JOBS_BY_NAME["snapshot-dashboard"], job_ports_on(engine, FixedClock(NOW))
        )
        assert outcome is not None
        assert outcome.ok
        expected = await _expected(connection)
        stored = await console_snapshots.dashboard_days(
            connection, first_day=TODAY - timedelta(days=60), last_day=TODAY
        )
        assert [d.day for d in stored] == sorted(expected)  # 30 days, none older
        for day in stored:
            got = {name: getattr(day, name) for name in expected[day.day]}
            assert got == expected[day.day], day.day
            assert day.complete == (day.day < TODAY)
        assert sum(d.sales for d in stored) > 0
        assert sum(d.draw_plays for d in stored) > 0
        assert sum(d.coupons_redeemed for d in stored) > 0
        # Today's standing: the accounts' sums and the members per tier, as they are.
        standing = stored[-1].standing
        assert standing is not None
        assert all(d.standing is None for d in stored[:-1])
        assert standing.available == await connection.fetchval(
            "SELECT sum(available) FROM points_accounts"
        )
        assert standing.members_per_tier == {
            r["code"]: r["n"]
            for r in await connection.fetch(
                "SELECT t.code, count(m.id) AS n FROM tiers t "
                "LEFT JOIN members m ON m.tier_code = t.code GROUP BY t.code"
            )
        }
        assert sum(standing.members_per_tier.values()) == seeded.members
        # The lifecycle flows and regions stored are the reports of the same 30 days.
        lifecycle = await console_snapshots.lifecycle_snapshot(connection)
        start = TODAY - timedelta(days=DASHBOARD_DAYS - 1)
        assert lifecycle is not None
        assert lifecycle.report == await lifecycle_report(
            connection, zone="Asia/Shanghai", start=start, end=TODAY + timedelta(days=1),
            crm=CrmSettings(),
        )  # fmt: skip
        regions = await console_snapshots.regions_snapshot(connection)
        assert regions is not None
        assert (regions.report.first_day, regions.report.last_day) == (start, TODAY)
        assert regions.report.rows == await regions_report(
            connection, zone="Asia/Shanghai", first_day=start, last_day=TODAY
        )
        assert sum(r.members for r in regions.report.rows) == seeded.members
    finally:
        await connection.close()


async def test_a_later_run_rewrites_yesterday_and_today_and_leaves_older_days_final(
    engine: PostgresEngine, clean_db: str
) -> None:
    connection = await asyncpg.connect(clean_db)
    try:
        await seed(connection, members=60, sales_per_member=2, now=NOW, days=10)
        clock = FixedClock(NOW)
        job = JOBS_BY_NAME["snapshot-dashboard"]
        assert await run_job(job, job_ports_on(engine, clock)) is not None
        before = {
            d.day: d
            for d in await console_snapshots.dashboard_days(
                connection, first_day=TODAY - timedelta(days=40), last_day=TODAY
            )
        }
        # A day passes; sales from the day before (now yesterday) and from three days ago
        # arrive late.
        store = await connection.fetchval("SELECT id FROM stores LIMIT 1")
        for n, days_ago in enumerate((3, 0)):
            at = NOW - timedelta(days=days_ago)
            await connection.execute(
                "INSERT INTO sales (id, store_id, receipt_id, member_id, currency, occurred_at, "
                "recorded_at, subtotal, payable) VALUES (gen_random_uuid(), $1, $2, NULL, "
                "'CNY', $3, now(), 100, 100)",
                store, f"late-{n}", at,
            )  # fmt: skip
        clock.set(NOW + timedelta(days=1))
        outcome = await run_job(job, job_ports_on(engine, clock))
        assert outcome is not None
        assert outcome.facts["first_day"] == str(TODAY)  # today became yesterday
        after = {
            d.day: d
            for d in await console_snapshots.dashboard_days(
                connection, first_day=TODAY - timedelta(days=40), last_day=TODAY + timedelta(1)
            )
        }
        three_days_ago = TODAY - timedelta(days=3)
        assert after[three_days_ago].sales == before[three_days_ago].sales  # final
        assert after[TODAY - timedelta(days=1)] == before[TODAY - timedelta(days=1)]
        assert after[TODAY + timedelta(days=1)].members_total == after[TODAY].members_total
        assert after[TODAY].sales == before[TODAY].sales + 1  # yesterday is rewritten
        assert after[TODAY].complete
        assert not before[TODAY].complete
        assert after[TODAY + timedelta(days=1)].standing is not None
        assert after[TODAY].standing == before[TODAY].standing  # kept from its last run
    finally:
        await connection.close()


def test_a_run_writes_from_the_first_day_not_stored_complete_but_never_further_back() -> None:
    today = date(2026, 12, 7)
    assert days_to_write(today, None, 30) == (date(2026, 11, 8), today)
    assert days_to_write(today, date(2026, 12, 6), 30) == (date(2026, 12, 6), today)
    assert days_to_write(today, date(2026, 12, 1), 30) == (date(2026, 12, 2), today)
    assert days_to_write(today, date(2025, 1, 1), 30) == (date(2026, 11, 8), today)


async def test_the_rfm_grid_counts_the_stored_scores_and_a_cell_pages_by_spend(
    clean_db: str,
) -> None:
    connection = await asyncpg.connect(clean_db)
    try:
        await seed(connection, members=300, sales_per_member=2, now=NOW, days=200)
        done = await snapshot_rfm(
            connection, zone="Asia/Shanghai", as_of=TODAY, window_days=365, now=NOW
        )
        grid = await console_snapshots.rfm_grid(connection)
        assert grid is not None
        assert (grid.as_of, grid.window_days) == (TODAY, 365)
        assert grid.members_scored == done.members_scored > 0
        counted = {
            (r["r"], r["f"]): (r["n"], r["spend"])
            for r in await connection.fetch(
                "SELECT r, f, count(*) AS n, sum(monetary) AS spend "
                "FROM member_rfm_scores GROUP BY r, f"
            )
        }
        assert {(c.r, c.f): (c.members, c.monetary) for c in grid.cells} == counted
        largest = max(grid.cells, key=lambda c: c.members)
        seen = []
        after = None
        while True:
            page = await console_snapshots.rfm_cell_members(
                connection, r=largest.r, f=largest.f, limit=7, after=after
            )
            seen.extend(page)
            if len(page) < 7:
                break
            after = (page[-1].monetary, page[-1].member_id)
        assert len(seen) == largest.members
        assert len({m.member_id for m in seen}) == largest.members
        keys = [(m.monetary, m.member_id) for m in seen]
        assert keys == sorted(keys, reverse=True)
        assert all(m.name and m.name.startswith("Member ") for m in seen)
        # The churn warnings from the snapshot are the live report's on the snapshot's day.
        live = await churn_risk(
            connection,
            ChurnRiskQuery(zone="Asia/Shanghai", today=TODAY, crm=CrmSettings(),
                           window_days=365, within_days=30, limit=10_000),
        )  # fmt: skip
        stored = await console_snapshots.churn_risk_snapshot(
            connection, crm=CrmSettings(), within_days=30, limit=10_000, after=None
        )
        assert stored is not None
        assert stored.as_of == TODAY
        assert len(live) > 5
        assert stored.rows == live
        half = await console_snapshots.churn_risk_snapshot(
            connection, crm=CrmSettings(), within_days=30, limit=3,
            after=(live[2].monetary, live[2].member_id),
        )  # fmt: skip
        assert half is not None
        assert half.rows == live[3:6]
    finally:
        await connection.close()
