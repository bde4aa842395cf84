"""Races on scarce things (issue #8, item 3): coupons, template budgets and prize stock.

Each test sends its competing requests at once over TCP to the served process on PostgreSQL,
then counts what the database holds. The redemption and refund races live in test_races.py:
`test_two_tills_redeeming_more_than_the_balance_at_once_cannot_both_pass` and
`test_refunds_at_once_that_together_exceed_the_sale_cannot_all_pass`.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from adapters.http.tokens import TokenService
from adapters.system import SystemClock
from app.principal import Role
from app.settings import Settings
from tests.e2e.test_races import LINES, fetch, world

__all__ = ["world"]


def member_tokens() -> TokenService:
    # The served process reads the tests' environment, so its JWT settings are these.
    settings = Settings.from_env(dict(os.environ))
    return TokenService(
        secret=settings.jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        clock=SystemClock(),
        ttl_seconds={Role.MEMBER: 900, Role.POS: 900, Role.ADMIN: 900},
    )


async def template(http: httpx.AsyncClient, admin: dict[str, str], **terms: Any) -> str:
    response = await http.post(
        "/v1/admin/coupon-templates",
        json={"name": "Ten off", "kind": "fixed", "value": 1000, "valid_days": 30, **terms},
        headers={**admin, "Idempotency-Key": f"template-{terms}"},
    )
    assert response.status_code == 201, response.text
    template_id: str = response.json()["id"]
    return template_id


async def test_one_coupon_presented_at_two_tills_at_once_is_redeemed_once(world: Any) -> None:
    http, admin, north, south, db = world
    member = (await north.post("/v1/pos/members", {"phone": "13800138001"})).json()
    template_id = await template(http, admin)
    issued = await http.post(
        "/v1/admin/coupons/issue",
        json={"template_id": template_id, "member_ids": [member["member_id"]]},
        headers={**admin, "Idempotency-Key": "issue-one"},
    )
    code = issued.json()["issued"][0]["code"]

    responses = await asyncio.gather(
        *(
            till.post(
                "/v1/pos/sales",
                {
                    "receipt_id": f"R-C{n}",
                    "member_id": member["member_id"],
                    "lines": LINES,
                    "coupon_codes": [code],
                },
            )
            for n, till in enumerate([north, south] * 3)
        )
    )

    assert sorted(r.status_code for r in responses) == [201] + [422] * 5
    assert {r.json()["code"] for r in responses if r.status_code == 422} == {
        "coupon_not_redeemable"
    }
    assert await fetch(db, "SELECT count(*) FROM sales") == 1
    assert await fetch(db, "SELECT count(*) FROM coupons WHERE status = 'redeemed'") == 1


async def test_a_template_limited_to_5_issued_by_8_admins_at_once_gives_exactly_5(
    world: Any,
) -> None:
    http, admin, north, _, db = world
    members = [
        (await north.post("/v1/pos/members", {"phone": f"1380013810{n}"})).json()["member_id"]
        for n in range(8)
    ]
    template_id = await template(http, admin, total_limit=5)

    responses = await asyncio.gather(
        *(
            http.post(
                "/v1/admin/coupons/issue",
                json={"template_id": template_id, "member_ids": [member_id]},
                headers={**admin, "Idempotency-Key": f"issue-{member_id}"},
            )
            for member_id in members
        )
    )

    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    issued = sum(len(r.json()["issued"]) for r in responses)
    skipped = [s["reason"] for r in responses for s in r.json()["skipped"]]
    assert issued == 5
    assert len(skipped) == 3
    assert await fetch(db, "SELECT count(*) FROM coupons") == 5


async def test_a_prize_with_stock_1_played_by_20_members_at_once_is_won_once(world: Any) -> None:
    http, admin, north, _, db = world
    prize_template = await template(http, admin)
    now = datetime.now(UTC)
    campaign = await http.post(
        "/v1/admin/draw-campaigns",
        json={
            "name": "One towel",
            "threshold": 20000,
            "chances": "one",
            "chance_valid_days": 7,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "prizes": [
                {
                    "code": "TOWEL",
                    "name": "A towel voucher",
                    "weight": 1,
                    "template_id": prize_template,
                    "stock": 1,
                }
            ],
        },
        headers={**admin, "Idempotency-Key": "campaign-1"},
    )
    assert campaign.status_code == 201, campaign.text
    tokens = member_tokens()
    players: list[tuple[str, str]] = []
    for n in range(20):
        member = (await north.post("/v1/pos/members", {"phone": f"139001390{n:02d}"})).json()
        sale = await north.post(
            "/v1/pos/sales",
            {"receipt_id": f"R-D{n}", "member_id": member["member_id"], "lines": LINES},
        )
        assert sale.json()["draw_chances"] == 1, sale.text
        token = tokens.issue_member_token(UUID(member["member_id"])).token
        chances = await http.get("/v1/me/draws", headers={"Authorization": f"Bearer {token}"})
        players.append((token, chances.json()["items"][0]["chance_id"]))

    responses = await asyncio.gather(
        *(
            http.post(
                f"/v1/me/draws/{chance_id}/play",
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "play"},
            )
            for token, chance_id in players
        )
    )

    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    winners = [r.json() for r in responses if r.json()["prize"] is not None]
    assert len(winners) == 1
    assert await fetch(db, "SELECT count(*) FROM coupons") == 1
    assert await fetch(db, "SELECT count(*) FROM draw_chances WHERE played_at IS NOT NULL") == 20
