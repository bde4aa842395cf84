"""Races run for real: concurrent requests over TCP to a served process on PostgreSQL.

Each burst runs through `race` (tests/support/overlap.py), which proves from the database's
side that its requests overlapped: all of them were in flight at once, queued on one lock.
"""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import cli
from tests.support.overlap import race

LINES = [{"sku": "SHEET", "quantity": 1, "unit_price": 25000}]
# Every till write claims its Idempotency-Key first: the burst queues there (see race()).
GATE = "idempotency_keys"
_keys = itertools.count()


class Till:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token

    async def post(self, path: str, body: Any, key: str | None = None) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": key or f"race-{next(_keys)}",
        }
        return await self.http.post(path, json=body, headers=headers)


async def open_till(http: httpx.AsyncClient, admin: dict[str, str], code: str) -> Till:
    store = await http.post(
        "/v1/admin/stores",
        json={"code": code, "name": code},
        headers={**admin, "Idempotency-Key": f"store-{code}"},
    )
    terminal = await http.post(
        "/v1/admin/terminals",
        json={"store_id": store.json()["store_id"], "code": "till"},
        headers={**admin, "Idempotency-Key": f"terminal-{code}"},
    )
    token = await http.post(
        "/v1/auth/terminal-token",
        json={"terminal_id": terminal.json()["terminal_id"], "secret": terminal.json()["secret"]},
    )
    return Till(http, token.json()["access_token"])


@pytest.fixture
async def world(service: tuple[str, dict[str, str]], clean_db: str) -> Any:
    base, env = service
    admin = {"Authorization": f"Bearer {cli('token', 'admin', '--subject', 'race', env=env)}"}
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        north = await open_till(http, admin, "north")
        south = await open_till(http, admin, "south")
        yield http, admin, north, south, clean_db


async def fetch(db_url: str, sql: str) -> Any:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def test_the_same_sale_sent_20_times_at_once_is_recorded_once(world: Any) -> None:
    _, _, north, _, db = world
    member = (await north.post("/v1/pos/members", {"phone": "13800138000"})).json()
    body = {"receipt_id": "R-RACE", "member_id": member["member_id"], "lines": LINES}

    responses, waits = await race(
        db, [north.post("/v1/pos/sales", body, key="one-key") for _ in range(20)], gate=GATE
    )

    waits.assert_overlapped("20 retries of one sale", at_least=20)
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert await fetch(db, "SELECT count(*) FROM sales") == 1
    assert await fetch(db, "SELECT available FROM points_accounts") == 250


async def test_one_receipt_under_10_keys_at_once_is_recorded_once(world: Any) -> None:
    _, _, north, _, db = world
    body = {"receipt_id": "R-DUP", "lines": LINES}

    responses, waits = await race(
        db, [north.post("/v1/pos/sales", body) for _ in range(10)], gate=GATE
    )

    waits.assert_overlapped("one receipt under 10 keys", at_least=10)
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    assert await fetch(db, "SELECT count(*) FROM sales") == 1
    # Each refusal names the sale that won, read once the winner had committed.
    (winner,) = [r.json()["sale_id"] for r in responses if r.status_code == 201]
    assert {r.json()["sale_id"] for r in responses if r.status_code == 409} == {winner}


async def test_two_tills_redeeming_more_than_the_balance_at_once_cannot_both_pass(
    world: Any,
) -> None:
    http, admin, north, south, db = world
    member = (await north.post("/v1/pos/members", {"phone": "13800138000"})).json()
    await north.post(
        "/v1/pos/sales", {"receipt_id": "R-0", "member_id": member["member_id"], "lines": LINES}
    )
    program = (await http.get("/v1/admin/program", headers=admin)).json()
    program.pop("version")
    await http.put("/v1/admin/program", json={**program, "earn_rate": "0"}, headers=admin)

    responses, waits = await race(
        db,
        [
            till.post(
                "/v1/pos/sales",
                {
                    "receipt_id": f"R-{n}",
                    "member_id": member["member_id"],
                    "lines": LINES,
                    "redeem_points": 200,
                },
            )
            for n, till in enumerate([north, south, north, south], start=1)
        ],
        gate=GATE,
    )

    waits.assert_overlapped("4 redemptions of one balance", at_least=4)
    assert sorted(r.status_code for r in responses) == [201, 422, 422, 422]
    assert await fetch(db, "SELECT available FROM points_accounts") == 50
    assert await fetch(db, "SELECT sum(points) FROM points_entries") == 50


async def test_refunds_at_once_that_together_exceed_the_sale_cannot_all_pass(
    world: Any,
) -> None:
    _, _, north, _, db = world
    sale = (await north.post("/v1/pos/sales", {"receipt_id": "R-1", "lines": LINES})).json()

    responses, waits = await race(
        db,
        [
            north.post(
                f"/v1/pos/sales/{sale['sale_id']}/refunds", {"refund_id": f"F{n}", "amount": 10000}
            )
            for n in range(5)
        ],
        gate=GATE,
    )

    waits.assert_overlapped("5 refunds of one guest sale", at_least=5)
    assert sorted(r.status_code for r in responses) == [201, 201, 422, 422, 422]
    assert await fetch(db, "SELECT refunded_amount FROM sales") == 20000


async def test_two_tills_enrolling_one_phone_at_once_make_one_member(world: Any) -> None:
    _, _, north, south, db = world

    responses, waits = await race(
        db,
        [till.post("/v1/pos/members", {"phone": "13900139000"}) for till in [north, south] * 4],
        gate=GATE,
    )

    waits.assert_overlapped("8 enrolments of one phone from two tills", at_least=8)
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    assert await fetch(db, "SELECT count(*) FROM members") == 1


async def refund(till: Till, sale_id: str, body: dict[str, Any]) -> httpx.Response:
    return await till.post(f"/v1/pos/sales/{sale_id}/refunds", body)


async def test_partial_refunds_at_once_of_a_member_sale_move_exactly_its_points(
    world: Any, service: tuple[str, dict[str, str]]
) -> None:
    """12 refunds of 30.00 race for a sale that paid 249.00 (and 1.00 in points): 8 fit.
    Whatever order they commit in, the points reversed and restored add up, once the sale is
    refunded in full, to exactly what it earned and redeemed, and the ledger's chain holds."""
    _, env = service
    _, _, north, _south, db = world
    member = (await north.post("/v1/pos/members", {"phone": "13800138000"})).json()
    member_id = member["member_id"]
    first = await north.post(
        "/v1/pos/sales",
        {
            "receipt_id": "R-EARN",
            "member_id": member_id,
            "lines": [LINES[0] | {"unit_price": 30000}],
        },
    )
    assert first.json()["points_earned"] == 300
    sale = await north.post(
        "/v1/pos/sales",
        {"receipt_id": "R-RACE", "member_id": member_id, "lines": LINES, "redeem_points": 100},
    )
    assert sale.status_code == 201, sale.text
    sold = sale.json()
    assert (sold["payable"], sold["points_redeemed"], sold["points_earned"]) == (24900, 100, 249)

    responses, waits = await race(
        db,
        [refund(north, sold["sale_id"], {"refund_id": f"F{n}", "amount": 3000}) for n in range(12)],
        gate=GATE,
    )

    waits.assert_overlapped("12 partial refunds of one member sale", at_least=12)
    assert sorted(r.status_code for r in responses) == [201] * 8 + [422] * 4, [
        r.text for r in responses
    ]
    assert {r.json()["code"] for r in responses if r.status_code == 422} == {"refund_exceeds_sale"}
    refunded = [r.json() for r in responses if r.status_code == 201]
    assert await fetch(db, "SELECT refunded_amount FROM sales WHERE receipt_id = 'R-RACE'") == 24000
    # Until the sale is refunded in full, the balance is whatever the refunds moved, and the
    # ledger says the same.
    balance = await fetch(db, "SELECT available FROM points_accounts")
    moved = sum(r["points_restored"] - r["points_reversed"] for r in refunded)
    assert balance == 300 - 100 + 249 + moved
    assert await fetch(db, "SELECT sum(points) FROM points_entries") == balance

    last = await refund(north, sold["sale_id"], {"refund_id": "F-LAST", "amount": 900})

    assert last.status_code == 201, last.text
    everything = [*refunded, last.json()]
    assert sum(r["points_reversed"] for r in everything) == 249
    assert sum(r["points_restored"] for r in everything) == 100
    assert await fetch(db, "SELECT available FROM points_accounts") == 300
    assert await fetch(db, "SELECT sum(points) FROM points_entries") == 300
    assert cli("ledger", "verify", env=env).startswith("ledger verify:")


async def test_line_refunds_at_once_of_a_member_sale_refund_each_unit_once(
    world: Any, service: tuple[str, dict[str, str]]
) -> None:
    """12 refunds of one towel each race for a sale of 10 towels: 10 pass, and together they
    reverse every point the sale earned."""
    _, env = service
    _, _, north, _south, db = world
    member = (await north.post("/v1/pos/members", {"phone": "13800138000"})).json()
    sale = await north.post(
        "/v1/pos/sales",
        {
            "receipt_id": "R-LINES",
            "member_id": member["member_id"],
            "lines": [{"sku": "TOWEL", "quantity": 10, "unit_price": 2_599}],
        },
    )
    assert sale.status_code == 201, sale.text
    sold = sale.json()
    assert sold["points_earned"] == 259

    responses, waits = await race(
        db,
        [
            refund(
                north,
                sold["sale_id"],
                {"refund_id": f"L{n}", "lines": [{"sku": "TOWEL", "quantity": 1}]},
            )
            for n in range(12)
        ],
        gate=GATE,
    )

    waits.assert_overlapped("12 line refunds of one member sale", at_least=12)
    assert sorted(r.status_code for r in responses) == [201] * 10 + [422] * 2, [
        r.text for r in responses
    ]
    refunded = [r.json() for r in responses if r.status_code == 201]
    assert sum(r["amount"] for r in refunded) == 25_990
    assert sum(r["points_reversed"] for r in refunded) == 259
    assert await fetch(db, "SELECT available FROM points_accounts") == 0
    assert await fetch(db, "SELECT sum(points) FROM points_entries") == 0
    assert cli("ledger", "verify", env=env).startswith("ledger verify:")
