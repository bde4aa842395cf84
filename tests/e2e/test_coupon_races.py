"""Coupon and draw races run for real: concurrent requests over TCP to a served process.

Litestar's in-process test client runs requests one after another, so these are the only
tests where two tills, ten admins or twenty members really act at the same instant. Each burst
runs through `race` (tests/support/overlap.py), which proves they did: all of them were in
flight in the database at once, queued on one lock.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import httpx
import pytest

from adapters.http.tokens import TokenService
from adapters.system import SystemClock
from app.settings import Settings
from app.wiring.composition import build_tokens
from tests.e2e.conftest import cli
from tests.support.overlap import race

LINES = [{"sku": "SHEET", "quantity": 1, "unit_price": 25000}]
# Every write here claims its Idempotency-Key first: the burst queues there (see race()).
GATE = "idempotency_keys"
_keys = itertools.count()
T = TypeVar("T")


def key() -> str:
    return f"coupon-race-{next(_keys)}"


@dataclass
class Client:
    http: httpx.AsyncClient
    headers: dict[str, str]

    async def post(self, path: str, body: Any = None) -> httpx.Response:
        return await self.http.post(
            path, json=body, headers={**self.headers, "Idempotency-Key": key()}
        )

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.headers)


@dataclass
class World:
    http: httpx.AsyncClient
    admin: Client
    north: Client
    south: Client
    tokens: TokenService
    db: str

    def member(self, member_id: str) -> Client:
        token = self.tokens.issue_member_token(UUID(member_id)).token
        return Client(self.http, {"Authorization": f"Bearer {token}"})


async def open_till(http: httpx.AsyncClient, admin: Client, code: str) -> Client:
    store = await admin.post("/v1/admin/stores", {"code": code, "name": code})
    assert store.status_code == 201, store.text
    terminal = await admin.post(
        "/v1/admin/terminals", {"store_id": store.json()["store_id"], "code": "till"}
    )
    assert terminal.status_code == 201, terminal.text
    token = await http.post(
        "/v1/auth/terminal-token",
        json={"terminal_id": terminal.json()["terminal_id"], "secret": terminal.json()["secret"]},
    )
    return Client(http, {"Authorization": f"Bearer {token.json()['access_token']}"})


@pytest.fixture
async def world(service: tuple[str, dict[str, str]], clean_db: str) -> AsyncIterator[World]:
    base, env = service
    admin_token = cli("token", "admin", "--subject", "coupon-race", env=env)
    # Member tokens signed with the served process's settings, as `loyalty token member` would.
    tokens = build_tokens(Settings.from_env(env), SystemClock())
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        admin = Client(http, {"Authorization": f"Bearer {admin_token}"})
        north = await open_till(http, admin, "north")
        south = await open_till(http, admin, "south")
        yield World(http, admin, north, south, tokens, clean_db)


async def fetch(db_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        return rows
    finally:
        await connection.close()


async def bounded(tasks: list[Awaitable[T]], at_once: int = 16) -> list[T]:
    """Runs the arranging requests a few at a time: set-up is not the race."""
    gate = asyncio.Semaphore(at_once)

    async def run(task: Awaitable[T]) -> T:
        async with gate:
            return await task

    return list(await asyncio.gather(*(run(t) for t in tasks)))


async def enrol(world: World, count: int) -> list[str]:
    responses = await bounded(
        [world.north.post("/v1/pos/members", {"phone": f"139{n:08d}"}) for n in range(count)]
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses][:3]
    return [r.json()["member_id"] for r in responses]


async def a_template(world: World, **fields: Any) -> dict[str, Any]:
    response = await world.admin.post(
        "/v1/admin/coupon-templates",
        {"name": "10 off", "kind": "fixed", "value": 1000, "valid_days": 30, **fields},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_two_tills_redeeming_one_coupon_at_once_redeem_it_once(world: World) -> None:
    [member_id] = await enrol(world, 1)
    template = await a_template(world)
    rounds = 5
    issued = []
    for _ in range(rounds):
        response = await world.admin.post(
            "/v1/admin/coupons/issue", {"template_id": template["id"], "member_ids": [member_id]}
        )
        assert response.status_code == 201, response.text
        issued.append(response.json()["issued"][0])

    for n, coupon in enumerate(issued):
        responses, waits = await race(
            world.db,
            [
                till.post(
                    "/v1/pos/sales",
                    {
                        "receipt_id": f"R-{n}-{name}",
                        "member_id": member_id,
                        "lines": LINES,
                        "coupon_codes": [coupon["code"]],
                    },
                )
                for name, till in (("north", world.north), ("south", world.south))
            ],
            gate=GATE,
        )

        waits.assert_overlapped(f"two tills redeeming coupon {n}", at_least=2)
        by_status = {r.status_code: r for r in responses}
        assert sorted(r.status_code for r in responses) == [201, 422], [r.text for r in responses]
        assert by_status[422].json()["code"] == "coupon_not_redeemable"
        winner = by_status[201].json()
        assert winner["applied_coupons"] == [coupon["code"]]
        [row] = await fetch(
            world.db,
            "SELECT status, redeemed_sale_id FROM coupons WHERE id = $1",
            UUID(coupon["coupon_id"]),
        )
        assert row["status"] == "redeemed"
        assert str(row["redeemed_sale_id"]) == winner["sale_id"]

    sales = await fetch(world.db, "SELECT id, discount_total FROM sales")
    assert len(sales) == rounds
    assert {s["discount_total"] for s in sales} == {1000}
    [points] = await fetch(world.db, "SELECT available FROM points_accounts")
    assert points["available"] == rounds * 240  # each sale paid 240.00 after its coupon


async def test_ten_concurrent_issues_of_a_template_limited_to_100_issue_exactly_100(
    world: World,
) -> None:
    members = await enrol(world, 200)
    template = await a_template(world, total_limit=100)
    batches = [members[n : n + 20] for n in range(0, 200, 20)]

    responses, waits = await race(
        world.db,
        [
            world.admin.post(
                "/v1/admin/coupons/issue", {"template_id": template["id"], "member_ids": batch}
            )
            for batch in batches
        ],
        gate=GATE,
    )

    waits.assert_overlapped("10 issues of one template", at_least=10)
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses][:3]
    issued = [c for r in responses for c in r.json()["issued"]]
    skipped = [s for r in responses for s in r.json()["skipped"]]
    assert len(issued) == 100
    assert len(skipped) == 100
    assert {s["reason"] for s in skipped} == {"total_limit_reached"}
    assert {c["member_id"] for c in issued} | {s["member_id"] for s in skipped} == set(members)
    assert len({c["code"] for c in issued}) == 100
    [row] = await fetch(world.db, "SELECT count(*) AS n FROM coupons")
    assert row["n"] == 100
    [template_row] = await fetch(world.db, "SELECT issued FROM coupon_templates")
    assert template_row["issued"] == 100
    per_member = await fetch(
        world.db, "SELECT member_id, count(*) AS n FROM coupons GROUP BY member_id"
    )
    assert {r["n"] for r in per_member} == {1}


async def test_a_prize_with_stock_1_played_by_20_members_at_once_is_won_once(
    world: World,
) -> None:
    members = await enrol(world, 20)
    template = await a_template(world, name="Grand prize")
    now = datetime.now(UTC)
    campaign = await world.admin.post(
        "/v1/admin/draw-campaigns",
        {
            "name": "One TV",
            "threshold": 10000,
            "chances": "one",
            "chance_valid_days": 7,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "prizes": [
                {
                    "code": "tv",
                    "name": "A TV",
                    "weight": 1,
                    "stock": 1,
                    "template_id": template["id"],
                }
            ],
        },
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    sales = await bounded(
        [
            world.north.post(
                "/v1/pos/sales",
                {"receipt_id": f"R-{n}", "member_id": member_id, "lines": LINES},
            )
            for n, member_id in enumerate(members)
        ]
    )
    assert [s.json()["draw_chances"] for s in sales] == [1] * 20
    chances = []
    for member_id in members:
        listed = await world.member(member_id).get("/v1/me/draws")
        [chance] = listed.json()["items"]
        chances.append((member_id, chance["chance_id"]))

    plays, waits = await race(
        world.db,
        [
            world.member(member_id).post(f"/v1/me/draws/{chance_id}/play")
            for member_id, chance_id in chances
        ],
        gate=GATE,
    )

    waits.assert_overlapped("20 members playing for one prize", at_least=20)
    assert [p.status_code for p in plays] == [200] * 20, [p.text for p in plays if p.is_error]
    winners = [p.json() for p in plays if p.json()["prize"] is not None]
    assert len(winners) == 1
    assert winners[0]["prize"]["code"] == "tv"
    assert winners[0]["prize"]["coupon"]["title"] == "Grand prize"
    [prize] = await fetch(world.db, "SELECT stock FROM draw_prizes")
    assert prize["stock"] == 0
    statuses = await fetch(world.db, "SELECT status, prize_code FROM draw_chances")
    assert [r["status"] for r in statuses] == ["played"] * 20
    assert sorted((r["prize_code"] or "") for r in statuses) == [""] * 19 + ["tv"]
    coupons = await fetch(world.db, "SELECT source FROM coupons")
    assert [c["source"] for c in coupons] == ["draw"]
    odds = await world.http.get(f"/v1/draw-campaigns/{campaign_id}/odds")
    assert [p["probability"] for p in odds.json()["prizes"]] == ["0"]


async def a_campaign(world: World, template_id: str, *, stock: int | None = None) -> str:
    now = datetime.now(UTC)
    response = await world.admin.post(
        "/v1/admin/draw-campaigns",
        {
            "name": "Spring draw",
            "threshold": 10000,
            "chances": "one",
            "chance_valid_days": 7,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "prizes": [
                {
                    "code": "ten-off",
                    "name": "10 off",
                    "weight": 1,
                    "stock": stock,
                    "template_id": template_id,
                }
            ],
        },
    )
    assert response.status_code == 201, response.text
    campaign_id: str = response.json()["id"]
    return campaign_id


async def test_one_chance_played_ten_times_at_once_draws_once(world: World) -> None:
    [member_id] = await enrol(world, 1)
    template = await a_template(world)
    await a_campaign(world, template["id"], stock=5)
    sale = await world.north.post(
        "/v1/pos/sales", {"receipt_id": "R-1", "member_id": member_id, "lines": LINES}
    )
    assert sale.json()["draw_chances"] == 1
    member = world.member(member_id)
    [chance] = (await member.get("/v1/me/draws")).json()["items"]

    plays, waits = await race(
        world.db,
        [member.post(f"/v1/me/draws/{chance['chance_id']}/play") for _ in range(10)],
        gate=GATE,
    )

    waits.assert_overlapped("one chance played 10 times", at_least=10)
    assert [p.status_code for p in plays] == [200] * 10, [p.text for p in plays if p.is_error]
    assert len({p.text for p in plays}) == 1
    [prize] = await fetch(world.db, "SELECT stock FROM draw_prizes")
    assert prize["stock"] == 4
    [row] = await fetch(world.db, "SELECT count(*) AS n FROM coupons")
    assert row["n"] == 1


async def test_a_refund_racing_the_play_of_its_chance_never_leaves_a_live_prize(
    world: World,
) -> None:
    members = await enrol(world, 6)
    template = await a_template(world)
    await a_campaign(world, template["id"])
    sales = await bounded(
        [
            world.north.post(
                "/v1/pos/sales", {"receipt_id": f"R-{n}", "member_id": m, "lines": LINES}
            )
            for n, m in enumerate(members)
        ]
    )
    chances = [
        (await world.member(m).get("/v1/me/draws")).json()["items"][0]["chance_id"] for m in members
    ]

    requests = []
    for m, chance_id, sale in zip(members, chances, sales, strict=True):
        requests.append(world.member(m).post(f"/v1/me/draws/{chance_id}/play"))
        requests.append(
            world.north.post(
                f"/v1/pos/sales/{sale.json()['sale_id']}/refunds",
                {"refund_id": "F-1", "amount": 25000},
            )
        )
    answers, waits = await race(world.db, requests, gate=GATE)
    outcomes = list(zip(answers[::2], answers[1::2], strict=True))

    waits.assert_overlapped("6 refunds racing the plays of their chances", at_least=12)
    for played, refunded in outcomes:
        assert refunded.status_code == 201, refunded.text
        assert refunded.json()["draw_chances_revoked"] == 1
        if played.status_code == 200:  # played first: the prize coupon is withdrawn
            coupon_id = UUID(played.json()["prize"]["coupon"]["coupon_id"])
            [row] = await fetch(world.db, "SELECT status FROM coupons WHERE id = $1", coupon_id)
            assert row["status"] == "voided"
        else:  # revoked first: nothing to play
            assert played.status_code == 409, played.text
            assert played.json()["code"] == "chance_not_playable"
    statuses = await fetch(world.db, "SELECT status FROM draw_chances")
    assert {r["status"] for r in statuses} == {"revoked"}
    live = await fetch(world.db, "SELECT id FROM coupons WHERE status = 'available'")
    assert live == []
