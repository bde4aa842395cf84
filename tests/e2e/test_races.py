"""Races run for real: concurrent requests over TCP to a served process on PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import cli

LINES = [{"sku": "SHEET", "quantity": 1, "unit_price": 25000}]
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

    responses = await asyncio.gather(
        *(north.post("/v1/pos/sales", body, key="one-key") for _ in range(20))
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert await fetch(db, "SELECT count(*) FROM sales") == 1
    assert await fetch(db, "SELECT available FROM points_accounts") == 250


async def test_one_receipt_under_10_keys_at_once_is_recorded_once(world: Any) -> None:
    _, _, north, _, db = world
    body = {"receipt_id": "R-DUP", "lines": LINES}

    responses = await asyncio.gather(*(north.post("/v1/pos/sales", body) for _ in range(10)))

    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    assert await fetch(db, "SELECT count(*) FROM sales") == 1


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

    responses = await asyncio.gather(
        *(
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
        )
    )

    assert sorted(r.status_code for r in responses) == [201, 422, 422, 422]
    assert await fetch(db, "SELECT available FROM points_accounts") == 50
    assert await fetch(db, "SELECT sum(points) FROM points_entries") == 50


async def test_refunds_at_once_that_together_exceed_the_sale_cannot_all_pass(
    world: Any,
) -> None:
    _, _, north, _, db = world
    sale = (await north.post("/v1/pos/sales", {"receipt_id": "R-1", "lines": LINES})).json()

    responses = await asyncio.gather(
        *(
            north.post(
                f"/v1/pos/sales/{sale['sale_id']}/refunds", {"refund_id": f"F{n}", "amount": 10000}
            )
            for n in range(5)
        )
    )

    assert sorted(r.status_code for r in responses) == [201, 201, 422, 422, 422]
    assert await fetch(db, "SELECT refunded_amount FROM sales") == 20000


async def test_two_tills_enrolling_one_phone_at_once_make_one_member(world: Any) -> None:
    _, _, north, south, db = world

    responses = await asyncio.gather(
        north.post("/v1/pos/members", {"phone": "13900139000"}),
        south.post("/v1/pos/members", {"phone": "13900139000"}),
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert await fetch(db, "SELECT count(*) FROM members") == 1
