"""GET /v1/admin/reports/points-liability: finance's deferred revenue, to the point."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from litestar import Litestar

from adapters.persistence.engine import start_engine, stop_engine
from adapters.persistence.tables import ALL_TABLES
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.system import UuidGenerator
from app.use_cases.sales import LineInput, RecordSale, record_sale
from domain.points import Reference
from domain.sale_dating import SaleDating
from tests.api.client import Api, Till
from tests.support.fakes import FixedClock

REPORT = "/v1/admin/reports/points-liability"
UowFactory = Callable[[], PostgresUnitOfWork]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def item(unit_price: int, quantity: int = 1, sku: str = "SKU") -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": quantity, "unit_price": unit_price}]


async def _set_program(api: Api, **changes: Any) -> None:
    program = (await api.client.get("/v1/admin/program", headers=api.admin_headers)).json()
    program.pop("version")
    program.update(changes)
    response = await api.client.put("/v1/admin/program", json=program, headers=api.admin_headers)
    assert response.status_code == 200, response.text


async def _sell(till: Till, receipt: str, lines: list[dict[str, Any]], **extra: Any) -> Any:
    response = await till.sell(receipt, lines, **extra)
    assert response.status_code == 201, response.text
    return response.json()


async def _refund(till: Till, sale_id: str, body: dict[str, Any]) -> Any:
    response = await till.refund(sale_id, body)
    assert response.status_code == 201, response.text
    return response.json()


async def _adjust(api: Api, member_id: str, points: int) -> None:
    response = await api.admin_post(
        f"/v1/admin/members/{member_id}/adjustments", {"points": points, "reason": "goodwill"}
    )
    assert response.status_code == 201, response.text


@asynccontextmanager
async def _domain(db_url: str) -> AsyncIterator[UowFactory]:
    """Units of work on this test's event loop, for what has no endpoint yet (the expiry job,
    online orders). The app's pool lives on the test client's loop and thread, so this opens
    its own engine and binds the tables to it until the block ends (nothing else runs then)."""
    previous = {table: table._meta._db for table in ALL_TABLES}
    engine = await start_engine(db_url, min_size=1, max_size=1)
    try:
        yield lambda: PostgresUnitOfWork(engine)
    finally:
        for table, db in previous.items():
            table._meta._db = db
        await stop_engine(engine)


async def _expire_due(db_url: str, clock: FixedClock, *member_ids: str) -> None:
    """What the expiry job does, through the domain: every lot past its expiry, expired."""
    now = clock.now()
    async with _domain(db_url) as uow_factory, uow_factory() as uow:
        for member_id in sorted(member_ids):
            account = await uow.points.get_for_update(UUID(member_id))
            for lot in list(account.lots):
                if not lot.pending and lot.expires_at is not None and lot.expires_at <= now:
                    account.expire(lot, reference=Reference("expiry_run", "test"), now=now)
            await uow.points.save(account)
        await uow.commit()


async def _sell_online(
    db_url: str, clock: FixedClock, till: Till, member_id: str, price: int
) -> None:
    """An online order (no webhook yet): its points stay pending."""
    async with _domain(db_url) as uow_factory, uow_factory() as uow:
        await record_sale(
            RecordSale(
                store_id=UUID(till.store_id),
                terminal_id=None,
                receipt_id="WEB-1",
                lines=[LineInput("ONLINE", 1, price)],
                member_id=UUID(member_id),
                channel="web",
            ),
            uow,
            clock=clock,
            ids=UuidGenerator(),
            dating=SaleDating(),
        )
        await uow.commit()


async def _report(api: Api, **query: str) -> dict[str, Any]:
    params = {k.rstrip("_"): v for k, v in query.items()}
    response = await api.client.get(REPORT, params=params, headers=api.admin_headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def clock(app: Litestar, monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    clock = FixedClock(local(2026, 1, 5, 10, 0))
    monkeypatch.setattr(app.state.container, "clock", clock)
    return clock


@pytest.fixture
async def scenario(api: Api, clock: FixedClock, clean_db: str) -> dict[str, str]:
    """Three members across January to March 2026 in Shanghai, at 0.3333 per point.

    January: 997 earned (88 that never expire, then 500 + 99 + 300 + 10 expiring at the end
    of February), 199 redeemed, a partial refund reversing 49 and restoring 99.
    February: 220 earned (the first 20 of them ten minutes into 1 February, local time).
    March: the February lots expire (760), 1001 earned, a full refund of an expired sale
    leaves 300 of debt, adjustments of +12 and -5, and 100 points pending from an online order.
    """
    till = await api.open_till()
    one = (await till.enrol("+8613800138001"))["member_id"]
    two = (await till.enrol("+8613800138002"))["member_id"]
    three = (await till.enrol("+8613800138003"))["member_id"]

    await _sell(till, "J-0", item(8800), member_id=three)  # +88, never expires
    await _set_program(
        api, point_value="0.3333", points_expiry={"kind": "end_of_month", "count": 1}
    )
    clock.set(local(2026, 1, 10, 12, 0))
    await _sell(till, "J-1", item(50000), member_id=one)  # +500
    clock.set(local(2026, 1, 15, 12, 0))
    # 200 points offered are worth floor(200 x 0.3333) = 66, which only 199 of them are
    # needed for: 199 redeemed, 99.34 paid, 99 points earned.
    towels = await _sell(till, "J-2", item(5000, 2, "TOWEL"), member_id=one, redeem_points=200)
    assert (towels["points_redeemed"], towels["points_value"]) == (199, 66)
    assert towels["points_earned"] == 99
    clock.set(local(2026, 1, 20, 12, 0))
    half = await _refund(
        till, towels["sale_id"], {"refund_id": "JR-2", "lines": [{"sku": "TOWEL", "quantity": 1}]}
    )
    # Half of 99.34 back: floor(99 / 2) = 49 reversed, floor(199 / 2) = 99 restored.
    assert (half["points_reversed"], half["points_restored"]) == (49, 99)
    doomed = await _sell(till, "J-3", item(30000), member_id=two)  # +300
    clock.set(local(2026, 1, 31, 23, 30))
    await _sell(till, "J-4", item(1000), member_id=three)  # +10, still January in Shanghai
    clock.set(local(2026, 2, 1, 0, 10))
    await _sell(till, "F-1", item(2000), member_id=three)  # +20, February (31 Jan in UTC)
    clock.set(local(2026, 2, 5, 12, 0))
    await _sell(till, "F-2", item(20000), member_id=one)  # +200, expires end of March

    clock.set(local(2026, 3, 2, 3, 0))
    await _expire_due(clean_db, clock, one, two, three)  # 301 + 50 + 99, 300, 10
    clock.set(local(2026, 3, 3, 12, 0))
    await _sell(till, "M-1", item(100100), member_id=one)  # +1001, expires end of April
    full = await _refund(till, doomed["sale_id"], {"refund_id": "MR-3", "amount": 30000})
    assert full["points_reversed"] == 300
    assert full["points"] == {"available": -300, "pending": 0}  # the expired points were owed
    await _adjust(api, three, 12)
    await _adjust(api, three, -5)
    await _sell_online(clean_db, clock, till, two, 10000)  # 100 pending
    clock.set(local(2026, 4, 2, 9, 0))
    return {"one": one, "two": two, "three": three}


async def test_outstanding_points_and_their_value(api: Api, scenario: dict[str, str]) -> None:
    report = await _report(api, from_="2026-03-01", to="2026-04-01")

    assert report["currency"] == "CNY"
    assert report["point_value"] == "0.3333"
    assert report["time_zone"] == "Asia/Shanghai"
    # one: 200 + 1001; three: 88 + (20 - 5) + 12; two: 300 of debt and 100 pending.
    assert report["outstanding"] == {"available": 1316, "pending": 100, "debt": 300}
    # floor(1316 x 0.3333) = floor(438.6228), floor(33.33), floor(99.99)
    assert report["outstanding_value"] == {"available": 438, "pending": 33, "debt": 99}


async def test_available_points_by_the_month_they_expire_in_local_time(
    api: Api, scenario: dict[str, str]
) -> None:
    report = await _report(api)

    # Points expiring at the end of 31 March (1 April 00:00 local) belong to March.
    assert report["available_by_expiry_month"] == [
        {"month": "2026-03", "points": 200 + 15},
        {"month": "2026-04", "points": 1001 + 12},
        {"month": "never", "points": 88},
    ]


async def test_the_report_adds_up_to_the_ledger_to_the_point(
    api: Api, scenario: dict[str, str], clean_db: str
) -> None:
    # All time: reports take days from 2000 to a few years ahead (domain.reporting).
    report = await _report(api, from_="2000-01-01", to=f"{date.today().year + 1}-01-01")
    connection = await asyncpg.connect(clean_db)
    try:
        ledger = await connection.fetchval("SELECT sum(points) FROM points_entries")
        lots = await connection.fetchval("SELECT sum(remaining) FROM points_lots WHERE NOT pending")
        pending = await connection.fetchval("SELECT sum(remaining) FROM points_lots WHERE pending")
    finally:
        await connection.close()

    outstanding = report["outstanding"]
    assert outstanding["available"] - outstanding["debt"] == ledger == 1016
    assert sum(m["points"] for m in report["available_by_expiry_month"]) == outstanding["available"]
    assert outstanding["available"] == lots
    assert outstanding["pending"] == pending
    # Every entry ever posted falls in this period, so its net is the whole ledger.
    assert report["period"]["net"] == ledger


async def test_the_flows_of_a_month(api: Api, scenario: dict[str, str]) -> None:
    january = (await _report(api, from_="2026-01-01", to="2026-02-01"))["period"]
    february = (await _report(api, from_="2026-02-01", to="2026-03-01"))["period"]
    march = (await _report(api, from_="2026-03-01", to="2026-04-01"))["period"]

    assert january == {
        "from": "2026-01-01",
        "to": "2026-02-01",
        "closed": True,
        "earned": 88 + 500 + 99 + 300 + 10,
        "redeemed": -199,
        "expired": 0,
        "reversed": -49,
        "restored": 99,
        "adjusted": 0,
        "spent_on_rewards": 0,
        "net": 997 - 199 - 49 + 99,
        "breakage_rate": "0.0000",
    }
    assert (february["earned"], february["net"]) == (20 + 200, 220)
    assert march == {
        "from": "2026-03-01",
        "to": "2026-04-01",
        "closed": True,
        "earned": 1001,
        "redeemed": 0,
        "expired": -(301 + 50 + 99 + 300 + 10),
        "reversed": -300,
        "restored": 0,
        "adjusted": 12 - 5,
        "spent_on_rewards": 0,
        "net": 1001 - 760 - 300 + 7,
        "breakage_rate": "0.7592",  # 760 / 1001 = 0.75924..., floored
    }


async def test_an_open_period_has_no_breakage_rate_yet(
    api: Api, scenario: dict[str, str], clock: FixedClock
) -> None:
    clock.set(local(2026, 3, 31, 23, 59))
    open_march = (await _report(api, from_="2026-03-01", to="2026-04-01"))["period"]
    clock.set(local(2026, 4, 1, 0, 0))
    closed_march = (await _report(api, from_="2026-03-01", to="2026-04-01"))["period"]

    assert (open_march["closed"], open_march["breakage_rate"]) == (False, None)
    assert (closed_march["closed"], closed_march["breakage_rate"]) == (True, "0.7592")


async def test_a_period_without_earnings_has_no_breakage_rate(
    api: Api, scenario: dict[str, str]
) -> None:
    period = (await _report(api, from_="2025-01-01", to="2025-02-01"))["period"]

    assert period["earned"] == 0
    assert (period["closed"], period["breakage_rate"]) == (True, None)


async def test_the_period_defaults_to_the_current_month(
    api: Api, scenario: dict[str, str], clock: FixedClock
) -> None:
    clock.set(local(2026, 3, 1, 0, 30))  # still 28 February in UTC

    current = (await _report(api))["period"]
    only_from = (await _report(api, from_="2026-01-15"))["period"]
    only_to = (await _report(api, to="2026-02-01"))["period"]

    assert (current["from"], current["to"], current["closed"]) == (
        "2026-03-01",
        "2026-04-01",
        False,
    )
    assert (only_from["from"], only_from["to"]) == ("2026-01-15", "2026-02-01")
    assert (only_to["from"], only_to["to"]) == ("2026-01-01", "2026-02-01")


async def test_an_empty_programme_reports_zeros(api: Api) -> None:
    report = await _report(api)

    assert report["outstanding"] == {"available": 0, "pending": 0, "debt": 0}
    assert report["outstanding_value"] == {"available": 0, "pending": 0, "debt": 0}
    assert report["available_by_expiry_month"] == []
    assert report["period"]["net"] == 0


async def test_only_admins_may_read_it(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()

    as_pos = await api.client.get(REPORT, headers=till.headers())
    as_member = await api.client.get(REPORT, headers=api.member_headers(member["member_id"]))
    anonymous = await api.client.get(REPORT)

    assert (as_pos.status_code, as_pos.json()["code"]) == (403, "forbidden")
    assert (as_member.status_code, as_member.json()["code"]) == (403, "forbidden")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-02-01", "to": "2026-02-01"},
        {"from": "2026-03-01", "to": "2026-02-01"},
        {"from": "2026-13-01"},
        {"to": "2026-02-30"},
        {"from": "yesterday"},
        {"from": "2026-02-01T00:00:00+08:00"},
        {"from": "9999-12-31"},
        {"to": "0001-01-01"},
    ],
)
async def test_bad_dates_are_a_422(api: Api, query: dict[str, str]) -> None:
    response = await api.client.get(REPORT, params=query, headers=api.admin_headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_error"
