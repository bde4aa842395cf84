"""Item rewards collected at a till over HTTP: looked up by the member's code, handed over once
for exactly the cash price, idempotent under a retried terminal, audited."""

from __future__ import annotations

from typing import Any

from tests.api.client import Api, Till, new_key
from tests.api.test_reward_catalogue_api import create_reward, member_with_points, redeem

FIND = "/v1/pos/reward-redemptions"
COLLECT = "/v1/pos/reward-collections"


async def redeemed_lamp(api: Api, **fields: Any) -> tuple[Till, dict[str, Any]]:
    till, member = await member_with_points(api)
    lamp = await create_reward(api, **fields)
    redeemed = await redeem(api, member, lamp["reward_id"])
    assert redeemed.status_code == 201, redeemed.text
    redemption: dict[str, Any] = redeemed.json()["redemption"]
    return till, redemption


async def test_a_till_looks_the_code_up_and_collects_it_for_its_cash_price(api: Api) -> None:
    till, redemption = await redeemed_lamp(api)  # 300 points plus 9.90 in cash
    code = redemption["fulfilment_code"].lower().replace("-", "")

    found = await api.client.get(FIND, params={"fulfilment_code": code}, headers=till.headers())
    collected = await till.post(COLLECT, {"fulfilment_code": code, "cash_paid": 990})

    assert found.status_code == 200, found.text
    assert (found.json()["status"], found.json()["cash_price"]) == ("issued", 990)
    assert collected.status_code == 201, collected.text
    body = collected.json()
    assert (body["redemption_id"], body["status"], body["cash_paid"]) == (
        redemption["redemption_id"],
        "fulfilled",
        990,
    )
    assert (body["collected_store_id"], body["collected_terminal_id"]) == (
        till.store_id,
        till.terminal_id,
    )
    audit = await api.client.get(
        "/v1/admin/audit-log",
        params={"action": "reward_redemption.collected"},
        headers=api.admin_headers,
    )
    assert [e["actor"] for e in audit.json()["items"]] == [f"pos:{till.terminal_id}"]


async def test_a_retried_terminal_gets_the_same_answer_and_another_collection_is_refused(
    api: Api,
) -> None:
    till, redemption = await redeemed_lamp(api, cash_price=0)
    body = {"fulfilment_code": redemption["fulfilment_code"], "cash_paid": 0}
    key = new_key()

    first = await till.post(COLLECT, body, key=key)
    retried = await till.post(COLLECT, body, key=key)
    again = await till.post(COLLECT, body)
    other_till = await api.open_till("SHA-OTHER")
    elsewhere = await other_till.post(COLLECT, body)

    assert first.status_code == 201, first.text
    assert (retried.status_code, retried.json()) == (201, first.json())
    for refused in (again, elsewhere):
        assert (refused.status_code, refused.json()["code"]) == (409, "reward_redemption_used")


async def test_wrong_cash_a_cancelled_redemption_and_an_unknown_code_are_clear_problems(
    api: Api,
) -> None:
    till, redemption = await redeemed_lamp(api)
    code = redemption["fulfilment_code"]

    short = await till.post(COLLECT, {"fulfilment_code": code, "cash_paid": 900})
    negative = await till.post(COLLECT, {"fulfilment_code": code, "cash_paid": -990})
    fractional = await till.post(COLLECT, {"fulfilment_code": code, "cash_paid": 9.9})
    unknown = await till.post(COLLECT, {"fulfilment_code": "ABCD-EFGH", "cash_paid": 990})
    cancelled = await api.admin_post(
        f"/v1/admin/reward-redemptions/{redemption['redemption_id']}/cancel", {"reason": "asked"}
    )
    after_cancel = await till.post(COLLECT, {"fulfilment_code": code, "cash_paid": 990})

    assert (short.status_code, short.json()["code"]) == (422, "cash_price_mismatch")
    assert short.json()["cash_price"] == 990
    for bad in (negative, fractional):
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_error"), bad.text
    assert (unknown.status_code, unknown.json()["code"]) == (404, "reward_redemption_not_found")
    assert cancelled.status_code == 200, cancelled.text
    assert (after_cancel.status_code, after_cancel.json()["code"]) == (
        409,
        "reward_redemption_cancelled",
    )


async def test_only_a_terminal_collects(api: Api) -> None:
    _, redemption = await redeemed_lamp(api)
    body = {"fulfilment_code": redemption["fulfilment_code"], "cash_paid": 990}
    as_admin = await api.admin_post(COLLECT, body)
    as_member = await api.client.post(
        COLLECT,
        json=body,
        headers={**api.member_headers(redemption["member_id"]), "Idempotency-Key": new_key()},
    )
    anonymous = await api.client.post(COLLECT, json=body, headers={"Idempotency-Key": new_key()})
    assert {as_admin.status_code, as_member.status_code} == {403}
    assert anonymous.status_code == 401
