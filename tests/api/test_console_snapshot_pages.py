"""The console's pages read from snapshots (issue #18) through the HTTP app: the dashboard's
charts and figures, the RFM grid and a cell page by page, lifecycle flows and regions, each
list as CSV; refused to roles without the reports."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.persistence import console_snapshots
from adapters.persistence.crm_reports import snapshot_rfm
from app.container import Container
from domain.staff import StaffRole
from tests.api.client import Api
from tests.bench.console_seed import seed
from tests.support.console import console_login, make_staff

pytestmark = pytest.mark.db

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def console(client: AsyncTestClient[Any], api: Api) -> AsyncIterator[AsyncTestClient[Any]]:
    client.cookies.clear()
    client.follow_redirects = False
    try:
        yield client
    finally:
        client.follow_redirects = True
        client.cookies.clear()


@pytest.fixture
def service(app: Litestar) -> Container:
    container: Container = app.state.container
    return container


async def _as(console: Any, service: Container, role: StaffRole) -> None:
    console.cookies.clear()
    email = f"{role.value}.snapshots@example.com"
    make_staff(service, email, role, client=console)
    assert (await console_login(console, email)).status_code == 303


async def _seeded_and_snapshotted(url: str, members: int = 120) -> datetime:
    now = datetime.now(UTC)
    connection = await asyncpg.connect(url)
    try:
        await seed(connection, members=members, sales_per_member=3, now=now, days=45)
        await console_snapshots.snapshot_dashboard(connection, now, days=30)
        await snapshot_rfm(
            connection, zone="Asia/Shanghai", as_of=now.astimezone(SHANGHAI).date(),
            window_days=365, now=now,
        )  # fmt: skip
    finally:
        await connection.close()
    return now


async def test_before_any_snapshot_the_pages_say_which_job_fills_them(
    console: Any, service: Container, clean_db: str
) -> None:
    await _as(console, service, StaffRole.OWNER)
    for path in (
        "/console",
        "/console/crm",
        "/console/crm/churn",
        "/console/crm/lifecycle",
        "/console/crm/regions",
    ):
        page = await console.get(path)
        assert page.status_code == 200, path
        assert 'id="no-snapshot"' in page.text, path


async def test_the_dashboard_shows_the_snapshot_figures_as_charts_and_a_table(
    console: Any, service: Container, clean_db: str
) -> None:
    now = await _seeded_and_snapshotted(clean_db)
    today = now.astimezone(SHANGHAI).date()
    connection = await asyncpg.connect(clean_db)
    try:
        days = await console_snapshots.dashboard_days(
            connection, first_day=today - timedelta(days=29), last_day=today
        )
        available = await connection.fetchval("SELECT sum(available) FROM points_accounts")
    finally:
        await connection.close()
    await _as(console, service, StaffRole.ANALYST)
    page = await console.get("/console")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'id="kpi-members">120<', html)
    week = sum(d.members_new for d in days if d.day > today - timedelta(days=7))
    assert f'id="kpi-new-week">{week:,}<' in html
    assert f'id="kpi-available">{available:,}<' in html
    for field in ("sales_amount", "points_earned", "members_total", "coupons_issued", "draw_plays"):
        assert f'id="chart-{field}"' in html, field
    assert html.count('class="series-bar"') == 6 * len(days)  # bars of six series
    # The table holds every day's figures, the programme's currency formatted by locale.
    busiest = max(days, key=lambda d: d.sales)
    row = re.search(rf'<tr data-day="{busiest.day.isoformat()}">(.*?)</tr>', html, re.S)
    assert row, html
    assert f"<td>{busiest.sales:,}</td>" in row.group(1)
    assert f"CN¥{busiest.sales_amount / 100:,.2f}" in row.group(1)
    assert "gold" in html  # members per tier
    console.cookies.set("console_lang", "zh_Hans", path="/console")
    chinese = await console.get("/console")
    assert "每日销售额" in chinese.text
    assert "¥" in chinese.text


async def test_the_rfm_grid_reads_the_snapshot_and_a_cell_lists_its_members_page_by_page(
    console: Any, service: Container, clean_db: str
) -> None:
    await _seeded_and_snapshotted(clean_db, members=600)
    await _as(console, service, StaffRole.MARKETING)
    grid = await console.get("/console/crm")
    assert grid.status_code == 200
    counts = {
        (int(r), int(f)): int(n.replace(",", ""))
        for r, f, n in re.findall(r'aria-label="R(\d) F(\d): (\d+)"', grid.text)
    }
    assert len(counts) == 25
    r, f = max(counts, key=lambda cell: counts[cell])
    assert counts[(r, f)] > 50  # more than one page
    listed: list[str] = []
    path = f"/console/crm/cell?r={r}&f={f}"
    while path:
        page = await console.get(path)
        assert page.status_code == 200
        listed += re.findall(r"<td>(Member \d+)</td>", page.text)
        found = re.search(r'href="([^"]+)" id="next-page"', page.text)
        path = found.group(1).replace("&amp;", "&") if found else ""
    assert len(listed) == len(set(listed)) == counts[(r, f)]
    csv = await console.get(f"/console/crm/cell.csv?r={r}&f={f}")
    assert csv.status_code == 200
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "member_id,name,tier_code,recency_days,frequency,monetary,r,f,m,segment"
    assert len(lines) == 1 + counts[(r, f)]
    for bad in ("r=0&f=1", "r=6&f=2", "r=1&f=1&after=x", "r=1&f=1&after=99999999999999999999:"
                "00000000-0000-0000-0000-000000000000"):  # fmt: skip
        refused = await console.get(f"/console/crm/cell?{bad}")
        assert refused.status_code == 422, bad
        assert 'id="invalid"' in refused.text


async def test_lifecycle_flows_and_regions_show_the_snapshot_and_export_it(
    console: Any, service: Container, clean_db: str
) -> None:
    await _seeded_and_snapshotted(clean_db)
    connection = await asyncpg.connect(clean_db)
    try:
        lifecycle = await console_snapshots.lifecycle_snapshot(connection)
        regions = await console_snapshots.regions_snapshot(connection)
    finally:
        await connection.close()
    assert lifecycle is not None
    assert regions is not None
    await _as(console, service, StaffRole.ANALYST)
    page = await console.get("/console/crm/lifecycle")
    assert page.status_code == 200
    assert 'id="flows"' in page.text
    csv = await console.get("/console/crm/lifecycle.csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "from,to,members"
    assert len(lines) == 1 + len(lifecycle.report.flows)
    assert sum(int(line.rsplit(",", 1)[1]) for line in lines[1:]) == sum(
        flow.members for flow in lifecycle.report.flows
    )
    page = await console.get("/console/crm/regions")
    assert page.status_code == 200
    for name in ("North", "South", "East", "West"):
        assert f'<th scope="row">{name}</th>' in page.text
    csv = await console.get("/console/crm/regions.csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "region,members,buyers,sales,net_spend"
    assert len(lines) == 1 + len(regions.report.rows) == 6  # four regions and none


async def test_service_staff_get_403_on_every_snapshot_report(
    console: Any, service: Container, clean_db: str
) -> None:
    await _as(console, service, StaffRole.SERVICE)
    for path in (
        "/console/crm",
        "/console/crm/cell?r=1&f=1",
        "/console/crm/cell.csv?r=1&f=1",
        "/console/crm/lifecycle",
        "/console/crm/lifecycle.csv",
        "/console/crm/regions",
        "/console/crm/regions.csv",
    ):
        assert (await console.get(path)).status_code == 403, path
    assert (await console.get("/console")).status_code == 200
