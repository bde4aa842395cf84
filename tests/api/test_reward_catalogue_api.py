"""The reward catalogue over HTTP: admins define and retire rewards, members see what they can
afford and redeem, admins cancel; and guest sales claimed in the app and at the till."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.client import Api, Till, new_key
from tests.api.test_coupon_templates_api import create_template
from tests.api.test_draws_api import chances, create_campaign
from tests.api.test_stored_bad_rows import execute

REWARDS = "/v1/admin/catalogue-rewards"
LAMP = {"name": "Lamp", "kind": "item", "points_cost": 300, "cash_price": 990, "stock": 2}


async def member_with_points(api: Api, amount: int = 50_000) -> tuple[Till, str]:
    till = await api.open_till()
    member = (await till.enrol())["member_id"]
    sold = await till.sell(
        "R-FUND", [{"sku": "DUVET", "quantity": 1, "unit_price": amount}], member_id=member
    )
    assert sold.status_code == 201, sold.text
    return till, member


async def create_reward(api: Api, **fields: Any) -> dict[str, Any]:
    response = await api.admin_post(REWARDS, {**LAMP, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def redeem(api: Api, member: str, reward_id: str, key: str | None = None) -> Any:
    headers = {**api.member_headers(member), "Idempotency-Key": key or new_key()}
    return await api.client.post(f"/v1/me/rewards/{reward_id}/redeem", headers=headers)


async def my_rewards(api: Api, member: str) -> dict[str, Any]:
    response = await api.client.get("/v1/me/rewards", headers=api.member_headers(member))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_admin_creates_lists_reads_revises_and_retires_a_reward_audited(api: Api) -> None:
    reward = await create_reward(api)
    rid = reward["reward_id"]
    assert (reward["version"], reward["stock_left"], reward["tiers"]) == (1, 2, [])

    listed = await api.client.get(REWARDS, headers=api.admin_headers)
    shown = await api.client.get(f"{REWARDS}/{rid}", headers=api.admin_headers)
    revised = await api.client.put(
        f"{REWARDS}/{rid}", json={**LAMP, "points_cost": 250}, headers=api.admin_headers
    )
    retired = await api.admin_post(f"{REWARDS}/{rid}/retire", {"reason": "season over"})

    assert [r["reward_id"] for r in listed.json()["items"]] == [rid]
    assert shown.json() == reward
    assert (revised.json()["version"], revised.json()["points_cost"]) == (2, 250)
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired_at"] is not None
    log = await api.client.get(
        "/v1/admin/audit-log",
        params={"entity": "catalogue_reward", "entity_id": rid},
        headers=api.admin_headers,
    )
    actions = sorted(e["action"] for e in log.json()["items"])
    assert actions == [
        "catalogue_reward.created",
        "catalogue_reward.retired",
        "catalogue_reward.revised",
    ]


async def test_an_invalid_reward_is_422_naming_the_field(api: Api) -> None:
    response = await api.admin_post(REWARDS, {**LAMP, "kind": "coupon"})
    assert response.status_code == 422, response.text
    assert "coupon_template_id" in response.text
    response = await api.admin_post(
        REWARDS,
        {
            **LAMP,
            "available_from": "2026-05-01T00:00:00Z",
            "available_until": "2026-04-01T00:00:00Z",
        },
    )
    assert response.status_code == 422, response.text
    assert "available_until" in response.text


async def test_creating_a_reward_needs_an_idempotency_key_and_a_repeat_gets_the_same_answer(
    api: Api,
) -> None:
    without = await api.client.post(REWARDS, json=LAMP, headers=api.admin_headers)
    assert without.status_code == 400, without.text
    first = await api.admin_post(REWARDS, LAMP, key="same-reward")
    again = await api.admin_post(REWARDS, LAMP, key="same-reward")
    assert first.json() == again.json()
    listed = await api.client.get(REWARDS, headers=api.admin_headers)
    assert len(listed.json()["items"]) == 1


async def test_the_member_sees_what_they_can_afford_and_redeems_an_item_for_a_code(
    api: Api,
) -> None:
    _, member = await member_with_points(api)  # 500 points
    lamp = await create_reward(api)
    sofa = await create_reward(api, name="Sofa", points_cost=501)

    before = await my_rewards(api, member)
    marks = {r["reward_id"]: (r["can_redeem"], r["unavailable_reason"]) for r in before["items"]}
    assert marks == {
        lamp["reward_id"]: (True, None),
        sofa["reward_id"]: (False, "insufficient_points"),
    }
    assert before["points"]["available"] == 500

    key = new_key()
    redeemed = await redeem(api, member, lamp["reward_id"], key)
    replayed = await redeem(api, member, lamp["reward_id"], key)

    assert redeemed.status_code == 201, redeemed.text
    body = redeemed.json()
    assert body["redemption"]["fulfilment_code"]
    assert body["redemption"]["cash_price"] == 990
    assert body["points"]["available"] == 200
    assert replayed.json() == body
    after = await my_rewards(api, member)
    assert {r["reward_id"]: r["stock_left"] for r in after["items"]}[lamp["reward_id"]] == 1
    mine = await api.client.get("/v1/me/rewards/redemptions", headers=api.member_headers(member))
    assert [r["redemption_id"] for r in mine.json()["items"]] == [
        body["redemption"]["redemption_id"]
    ]


async def test_a_coupon_reward_lands_in_the_wallet(api: Api) -> None:
    _, member = await member_with_points(api)
    template = await create_template(api)
    reward = await create_reward(api, kind="coupon", coupon_template_id=template["id"], stock=None)
    redeemed = await redeem(api, member, reward["reward_id"])
    assert redeemed.status_code == 201, redeemed.text
    coupon = redeemed.json()["coupon"]
    wallet = await api.client.get("/v1/me/coupons", headers=api.member_headers(member))
    assert [c["code"] for c in wallet.json()["items"]] == [coupon["code"]]


async def test_refusals_are_clear_and_take_nothing(api: Api) -> None:
    _, member = await member_with_points(api)
    gone = await create_reward(api, stock=0)
    dear = await create_reward(api, points_cost=501)

    out = await redeem(api, member, gone["reward_id"])
    short = await redeem(api, member, dear["reward_id"])
    unknown = await redeem(api, member, "00000000-0000-0000-0000-000000000404")

    assert (out.status_code, out.json()["code"], out.json()["reason"]) == (
        409,
        "reward_not_redeemable",
        "out_of_stock",
    )
    assert (short.status_code, short.json()["code"]) == (422, "insufficient_points")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "catalogue_reward_not_found")
    assert (await my_rewards(api, member))["points"]["available"] == 500


async def test_an_admin_cancels_an_unused_redemption_points_and_stock_back_once(
    api: Api,
) -> None:
    _, member = await member_with_points(api)
    lamp = await create_reward(api, stock=1)
    redeemed = (await redeem(api, member, lamp["reward_id"])).json()
    rid = redeemed["redemption"]["redemption_id"]

    cancelled = await api.admin_post(
        f"/v1/admin/reward-redemptions/{rid}/cancel", {"reason": "damaged in store"}
    )
    again = await api.admin_post(
        f"/v1/admin/reward-redemptions/{rid}/cancel", {"reason": "damaged in store"}
    )

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["redemption"]["status"] == "cancelled"
    assert cancelled.json()["points"]["available"] == 500
    assert (again.status_code, again.json()["code"]) == (409, "reward_redemption_cancelled")
    shown = await api.client.get(f"{REWARDS}/{lamp['reward_id']}", headers=api.admin_headers)
    assert shown.json()["stock_left"] == 1
    log = await api.client.get(
        "/v1/admin/audit-log",
        params={"entity": "reward_redemption", "entity_id": rid},
        headers=api.admin_headers,
    )
    assert [e["action"] for e in log.json()["items"]] == ["reward_redemption.cancelled"]


async def test_a_handed_over_item_cannot_be_cancelled(api: Api) -> None:
    _, member = await member_with_points(api)
    lamp = await create_reward(api)
    rid = (await redeem(api, member, lamp["reward_id"])).json()["redemption"]["redemption_id"]
    fulfilled = await api.admin_post(f"/v1/admin/reward-redemptions/{rid}/fulfil", None)
    refused = await api.admin_post(
        f"/v1/admin/reward-redemptions/{rid}/cancel", {"reason": "too late"}
    )
    assert fulfilled.json()["status"] == "fulfilled"
    assert (refused.status_code, refused.json()["code"]) == (409, "reward_redemption_used")


async def test_the_liability_report_shows_points_spent_on_rewards(api: Api) -> None:
    _, member = await member_with_points(api)
    lamp = await create_reward(api)
    await redeem(api, member, lamp["reward_id"])
    today = datetime.now(UTC).date()
    report = await api.client.get(
        "/v1/admin/reports/points-liability",
        params={"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=2))},
        headers=api.admin_headers,
    )
    assert report.status_code == 200, report.text
    assert report.json()["period"]["spent_on_rewards"] == 300


# Guest sale claims --------------------------------------------------------------------------


async def test_a_guest_sale_answers_a_claim_code_the_member_claims_in_the_app_once(
    api: Api,
) -> None:
    till = await api.open_till()
    member = (await till.enrol())["member_id"]
    guest = await till.sell("G-1", [{"sku": "DUVET", "quantity": 1, "unit_price": 12_345}])
    assert guest.status_code == 201, guest.text
    code = guest.json()["claim_code"]
    assert code

    headers = {**api.member_headers(member), "Idempotency-Key": new_key()}
    claimed = await api.client.post(
        "/v1/me/sale-claims", json={"claim_code": code}, headers=headers
    )
    headers = {**api.member_headers(member), "Idempotency-Key": new_key()}
    again = await api.client.post("/v1/me/sale-claims", json={"claim_code": code}, headers=headers)

    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["points_earned"] == 123
    assert claimed.json()["points"]["available"] == 123
    assert (again.status_code, again.json()["code"]) == (409, "sale_already_claimed")


async def test_a_till_claims_a_guest_sale_for_a_member_it_looked_up(api: Api) -> None:
    till = await api.open_till()
    member = (await till.enrol())["member_id"]
    named = await till.sell(
        "M-1", [{"sku": "DUVET", "quantity": 1, "unit_price": 10_000}], member_id=member
    )
    assert named.json()["claim_code"] is None
    await till.sell("G-2", [{"sku": "DUVET", "quantity": 1, "unit_price": 20_000}])

    claimed = await till.post("/v1/pos/sale-claims", {"member_id": member, "receipt_id": "G-2"})
    missing = await till.post("/v1/pos/sale-claims", {"member_id": member, "receipt_id": "G-404"})

    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["points_earned"] == 200
    assert claimed.json()["points"]["available"] == 300
    assert (missing.status_code, missing.json()["code"]) == (404, "sale_claim_not_found")


async def test_the_claim_window_is_a_programme_setting(api: Api) -> None:
    program = await api.client.get("/v1/admin/program", headers=api.admin_headers)
    assert program.json()["guest_claim_days"] == 30
    patched = await api.client.patch(
        "/v1/admin/program",
        json={"guest_claim_days": 0},
        headers={**api.admin_headers, "Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    till = await api.open_till()
    member = (await till.enrol())["member_id"]
    code = (await till.sell("G-3", [{"sku": "X", "quantity": 1, "unit_price": 100}])).json()[
        "claim_code"
    ]
    headers = {**api.member_headers(member), "Idempotency-Key": new_key()}
    refused = await api.client.post(
        "/v1/me/sale-claims", json={"claim_code": code}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "claim_window_closed")


async def test_a_claimed_guest_sale_earns_draw_chances_as_a_named_sale_does(api: Api) -> None:
    await create_campaign(api, threshold=10_000, chances="per_multiple")
    till = await api.open_till()
    member = (await till.enrol())["member_id"]
    guest = await till.sell("G-DRAW", [{"sku": "DUVET", "quantity": 1, "unit_price": 25_000}])
    assert guest.json()["draw_chances"] == 0

    claimed = await till.post("/v1/pos/sale-claims", {"member_id": member, "receipt_id": "G-DRAW"})

    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["draw_chances"] == 2
    assert len(await chances(api, member)) == 2


async def test_claiming_an_imported_sale_is_a_clear_409_not_a_500(api: Api, db_url: str) -> None:
    till = await api.open_till()
    member = (await till.enrol())["member_id"]
    guest = await till.sell("G-OLD", [{"sku": "DUVET", "quantity": 1, "unit_price": 20_000}])
    code = guest.json()["claim_code"]
    # As the history import leaves it: a sale replayed from another system, earning nothing.
    await execute(
        db_url, "UPDATE sales SET imported_from = 'online-retail' WHERE receipt_id = $1", "G-OLD"
    )

    at_till = await till.post("/v1/pos/sale-claims", {"member_id": member, "receipt_id": "G-OLD"})
    headers = {**api.member_headers(member), "Idempotency-Key": new_key()}
    in_app = await api.client.post("/v1/me/sale-claims", json={"claim_code": code}, headers=headers)

    for refused in (at_till, in_app):
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "imported_sale_not_claimable"
    member_now = await api.client.get("/v1/me", headers=api.member_headers(member))
    assert member_now.json()["points"]["available"] == 0
