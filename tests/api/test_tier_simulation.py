"""POST /v1/admin/tiers/simulate: a proposed policy's effect, on a hand-computed population.

Today's ladder: member (rank 0, x1), silver (rank 10, from 100.00, x1.5), gold (rank 20, from
500.00, x2). The proposal drops silver and adds vip: member (0, x1), gold (20, from 250.00,
x2.5), vip (30, from 500.00, x4). CNY, 1 point per yuan. Spend over the last 365 days:

    member  today   spend (fen)        proposed  move  points today      proposed
    A       member   5,000             member    -     floor(50.00 x1)   50   50
    B       member  12,345             member    -     floor(123.45 x1)  123  123
    C       silver   3,333             member    down  floor(33.33 x1.5) 49   33
    D       gold    60,003             vip       up    1200              2400
    E       gold    40,001 - 10,000    gold      -     600               750
    F       silver  (400 days ago)     member    down  0                 0

Totals: 2022 today, 3356 proposed; a month is 30.4375 / 365 of that, floored: 168 and 279.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from litestar import Litestar

from tests.api.client import Api
from tests.support.fakes import FixedClock

SIMULATE = "/v1/admin/tiers/simulate"
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
STORE = UUID("00000000-0000-0000-0000-00000000510e")

PROPOSAL: dict[str, Any] = {
    "window_days": 365,
    "grace_days": 14,
    "tiers": [
        {"code": "vip", "name": "VIP", "rank": 30, "threshold": 50_000, "earn_multiplier": "4"},
        {"code": "member", "name": "Member", "rank": 0, "threshold": 0, "earn_multiplier": "1"},
        {"code": "gold", "name": "Gold", "rank": 20, "threshold": 25_000, "earn_multiplier": "2.5"},
    ],
}


@pytest.fixture
def clock(app: Litestar, monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    clock = FixedClock(NOW)
    monkeypatch.setattr(app.state.container, "clock", clock)
    return clock


@pytest.fixture
async def population(api: Api, clock: FixedClock, clean_db: str) -> None:
    db = await asyncpg.connect(clean_db)
    try:
        await db.execute(
            "INSERT INTO tiers (code, name, rank, threshold, earn_multiplier) VALUES "
            "('silver', 'Silver', 10, 10000, 1.5), ('gold', 'Gold', 20, 50000, 2)"
        )
        await db.execute(
            "INSERT INTO stores (id, code, name, created_at) VALUES ($1, 'S1', 'Store', $2)",
            STORE,
            NOW - timedelta(days=1000),
        )
        people = [
            ("member", [(5_000, 0, 10)]),
            ("member", [(12_345, 0, 365)]),  # exactly window_days ago: counts
            ("silver", [(3_333, 0, 1)]),
            ("gold", [(30_000, 0, 100), (30_003, 0, 0)]),
            ("gold", [(40_001, 10_000, 20)]),
            ("silver", [(20_000, 0, 400)]),
        ]
        for n, (tier, sales) in enumerate(people):
            member_id = uuid4()
            await db.execute(
                "INSERT INTO members (id, phone, tier_code, enrolled_at) VALUES ($1, $2, $3, $4)",
                member_id,
                f"+861380000{n:04d}",
                tier,
                NOW - timedelta(days=900),
            )
            for payable, refunded, days_ago in sales:
                await db.execute(
                    "INSERT INTO sales (id, store_id, receipt_id, member_id, currency, "
                    "occurred_at, recorded_at, subtotal, payable, refunded_amount) "
                    "VALUES ($1, $2, $3, $4, 'CNY', $5, $5, $6, $6, $7)",
                    uuid4(),
                    STORE,
                    uuid4().hex,
                    member_id,
                    NOW - timedelta(days=days_ago),
                    payable,
                    refunded,
                )
    finally:
        await db.close()


async def simulate(api: Api, body: dict[str, Any]) -> Any:
    return await api.admin_post(SIMULATE, body)


async def snapshot(url: str) -> list[Any]:
    db = await asyncpg.connect(url)
    try:
        return [
            await db.fetch(f"SELECT * FROM {table} ORDER BY 1")
            for table in ("members", "tiers", "tier_policies", "tier_changes", "audit_log")
        ]
    finally:
        await db.close()


async def test_members_per_tier_moves_and_points_per_month(api: Api, population: None) -> None:
    response = await simulate(api, PROPOSAL)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "as_of": "2026-06-15T12:00:00Z",
        "window_days": 365,
        "grace_days": 14,
        "members": 6,
        "tiers": [
            {
                "code": "member",
                "name": "Member",
                "rank": 0,
                "threshold": 0,
                "earn_multiplier": "1",
                "members": 4,
            },
            {
                "code": "gold",
                "name": "Gold",
                "rank": 20,
                "threshold": 25_000,
                "earn_multiplier": "2.5",
                "members": 1,
            },
            {
                "code": "vip",
                "name": "VIP",
                "rank": 30,
                "threshold": 50_000,
                "earn_multiplier": "4",
                "members": 1,
            },
        ],
        "moving_up": 1,
        "moving_down": 2,
        "points_per_month": {"current": 168, "proposed": 279, "change": 111},
    }


async def test_a_shorter_window_counts_less_spend(api: Api, population: None) -> None:
    # 30 days: A (10 days ago), C (1), D's 300.03 (today), E (20): B, D's older sale and F drop.
    response = await simulate(api, {**PROPOSAL, "window_days": 30})

    assert response.status_code == 200, response.text
    body = response.json()
    assert [t["members"] for t in body["tiers"]] == [4, 2, 0]  # D: 300.03 is gold now
    assert (body["moving_up"], body["moving_down"]) == (0, 2)
    # today: 50 + 49 + floor(300.03 x 2) + 600 = 1299; proposed: 50 + 33 + 750 + 750 = 1583
    assert body["points_per_month"] == {"current": 1317, "proposed": 1606, "change": 289}


async def test_the_programme_earn_rate_scales_the_points(
    api: Api, population: None, clean_db: str
) -> None:
    db = await asyncpg.connect(clean_db)
    try:
        await db.execute("UPDATE program_settings SET earn_rate = 0.5")
    finally:
        await db.close()
    body = (await simulate(api, PROPOSAL)).json()
    # today: 25 + 61 + 24 + 600 + 300 = 1010; proposed: 25 + 61 + 16 + 1200 + 375 = 1677
    assert body["points_per_month"] == {"current": 84, "proposed": 139, "change": 55}


async def test_nothing_is_saved(api: Api, population: None, clean_db: str) -> None:
    before = await snapshot(clean_db)
    assert (await simulate(api, PROPOSAL)).status_code == 200
    assert await snapshot(clean_db) == before


async def test_an_empty_programme(api: Api, clock: FixedClock) -> None:
    body = (await simulate(api, PROPOSAL)).json()
    assert body["members"] == 0
    assert [t["members"] for t in body["tiers"]] == [0, 0, 0]
    assert body["points_per_month"] == {"current": 0, "proposed": 0, "change": 0}


def _tiers(**changes: Any) -> dict[str, Any]:
    tiers = [dict(t) for t in PROPOSAL["tiers"]]
    tiers[2].update(changes)  # gold
    return {**PROPOSAL, "tiers": tiers}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_tiers(code="vip"), "tiers"),  # duplicate code
        (_tiers(rank=30), "tiers"),  # duplicate rank
        (_tiers(threshold=60_000), "tiers"),  # thresholds must rise with rank
        (_tiers(earn_multiplier="10.5"), "earn_multiplier"),
        (_tiers(earn_multiplier="0.5"), "earn_multiplier"),
        (_tiers(earn_multiplier="1.2345"), "earn_multiplier"),
        ({**PROPOSAL, "tiers": [dict(PROPOSAL["tiers"][2])]}, "tiers"),  # lowest must be 0
        ({**PROPOSAL, "tiers": []}, "tiers"),
        ({**PROPOSAL, "window_days": 0}, "window_days"),
        ({**PROPOSAL, "grace_days": 366}, "grace_days"),
        ({**PROPOSAL, "colour": "blue"}, None),
        (_tiers(threshold=-1), None),
    ],
)
async def test_bad_proposals_are_a_422_naming_the_field(
    api: Api, clock: FixedClock, body: dict[str, Any], field: str | None
) -> None:
    response = await simulate(api, body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f == field or f.endswith(field) for f in fields), response.json()


async def test_a_simulation_reads_only_so_it_needs_no_idempotency_key(
    api: Api, clock: FixedClock
) -> None:
    response = await api.client.post(SIMULATE, json=PROPOSAL, headers=api.admin_headers)
    assert response.status_code == 200, response.text


async def test_a_bad_idempotency_key_on_a_simulation_is_refused_without_calling_it_a_write(
    api: Api, clock: FixedClock
) -> None:
    headers = {**api.admin_headers, "Idempotency-Key": "k" * 256}
    response = await api.client.post(SIMULATE, json=PROPOSAL, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "idempotency_key_invalid"
    assert "write" not in response.json()["detail"]


async def test_only_admins_may_simulate(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()

    as_pos = await api.client.post(SIMULATE, json=PROPOSAL, headers=till.headers())
    as_member = await api.client.post(
        SIMULATE, json=PROPOSAL, headers=api.member_headers(member["member_id"])
    )
    anonymous = await api.client.post(SIMULATE, json=PROPOSAL)

    assert (as_pos.status_code, as_pos.json()["code"]) == (403, "forbidden")
    assert (as_member.status_code, as_member.json()["code"]) == (403, "forbidden")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")
