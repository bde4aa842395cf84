"""Paying with points, giving them back on refunds, admin adjustments and expiring points."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from tests.api.client import Api, Till

DUVET = [{"sku": "DUVET", "quantity": 1, "unit_price": 50000}]  # 500.00


async def _member_with_points(api: Api, till: Till, receipt: str = "R-EARN") -> dict[str, Any]:
    member = await till.enrol()
    earned = await till.sell(receipt, DUVET, member_id=member["member_id"])
    assert earned.json()["points"]["available"] == 500
    return member


async def _set_program(api: Api, **changes: Any) -> None:
    program = (await api.client.get("/v1/admin/program", headers=api.admin_headers)).json()
    program.pop("version")
    program.update(changes)
    response = await api.client.put("/v1/admin/program", json=program, headers=api.admin_headers)
    assert response.status_code == 200, response.text


async def test_paying_with_points_lowers_what_is_paid_and_what_is_earned(api: Api) -> None:
    till = await api.open_till()
    member = await _member_with_points(api, till)

    sale = await till.sell(
        "R-PAY",
        [{"sku": "TOWEL", "quantity": 1, "unit_price": 10000}],
        member_id=member["member_id"],
        redeem_points=300,
    )

    assert sale.status_code == 201, sale.text
    body = sale.json()
    assert (body["points_redeemed"], body["points_value"], body["payable"]) == (300, 300, 9700)
    assert body["points_earned"] == 97  # earned on the 97.00 paid, not on 100.00
    assert body["points"]["available"] == 500 - 300 + 97


async def test_paying_with_more_points_than_available_is_refused(api: Api) -> None:
    till = await api.open_till()
    member = await _member_with_points(api, till)

    sale = await till.sell("R-X", DUVET, member_id=member["member_id"], redeem_points=501)
    quote = await till.post(
        "/v1/pos/quote", {"member_id": member["member_id"], "lines": DUVET, "redeem_points": 501}
    )

    assert (sale.status_code, sale.json()["code"]) == (422, "insufficient_points")
    assert (quote.status_code, quote.json()["code"]) == (422, "insufficient_points")


async def test_points_worth_more_than_the_bill_are_refused(api: Api) -> None:
    till = await api.open_till()
    member = await _member_with_points(api, till)

    sale = await till.sell(
        "R-X",
        [{"sku": "SOCK", "quantity": 1, "unit_price": 100}],
        member_id=member["member_id"],
        redeem_points=101,
    )

    assert (sale.status_code, sale.json()["code"]) == (422, "points_exceed_payable")


async def test_two_tills_redeeming_the_same_points_cannot_overspend(
    api: Api, clean_db: str
) -> None:
    north = await api.open_till("north")
    south = await api.open_till("south")
    member = await _member_with_points(api, north)
    await _set_program(api, earn_rate="0")  # so that the first sale cannot fund the second

    first, second = await asyncio.gather(
        north.sell("R-N", DUVET, member_id=member["member_id"], redeem_points=400),
        south.sell("R-S", DUVET, member_id=member["member_id"], redeem_points=400),
    )

    assert sorted([first.status_code, second.status_code]) == [201, 422]
    connection = await asyncpg.connect(clean_db)
    try:
        available, debt = await connection.fetchrow("SELECT available, debt FROM points_accounts")
        entries = await connection.fetchval("SELECT sum(points) FROM points_entries")
    finally:
        await connection.close()
    assert debt == 0
    assert available == entries == 100


async def test_a_full_refund_restores_redeemed_points_and_reverses_earned_ones(api: Api) -> None:
    till = await api.open_till()
    member = await _member_with_points(api, till)
    sale = (
        await till.sell(
            "R-PAY",
            [{"sku": "TOWEL", "quantity": 2, "unit_price": 5000}],
            member_id=member["member_id"],
            redeem_points=200,
        )
    ).json()

    half = await till.refund(
        sale["sale_id"], {"refund_id": "F1", "lines": [{"sku": "TOWEL", "quantity": 1}]}
    )
    rest = await till.refund(
        sale["sale_id"], {"refund_id": "F2", "lines": [{"sku": "TOWEL", "quantity": 1}]}
    )

    assert half.json()["amount"] + rest.json()["amount"] == 9800
    assert half.json()["points_restored"] + rest.json()["points_restored"] == 200
    assert half.json()["points_reversed"] + rest.json()["points_reversed"] == 98
    assert rest.json()["points"] == {"available": 500, "pending": 0}


async def test_points_expire_at_the_end_of_a_local_day_and_show_as_expiring(api: Api) -> None:
    await _set_program(api, points_expiry={"kind": "days", "count": 7})
    till = await api.open_till()
    member = await _member_with_points(api, till)

    me = await api.client.get("/v1/me", headers=api.member_headers(member["member_id"]))

    [expiring] = me.json()["points"]["expiring"]
    assert expiring["points"] == 500
    assert expiring["expires_at"].endswith("T16:00:00Z")  # midnight in Asia/Shanghai


async def test_an_admin_adjusts_points_with_a_reason_and_it_is_audited(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member = await _member_with_points(api, till)
    path = f"/v1/admin/members/{member['member_id']}/adjustments"

    credit = await api.admin_post(path, {"points": 50, "reason": "goodwill: late delivery"})
    debit = await api.admin_post(path, {"points": -600, "reason": "test"})
    too_much = await api.admin_post(path, {"points": -551, "reason": "typo"})
    no_reason = await api.admin_post(path, {"points": 5, "reason": "   "})
    unknown = await api.admin_post(
        "/v1/admin/members/00000000-0000-4000-8000-000000000000/adjustments",
        {"points": 5, "reason": "x"},
    )

    assert credit.status_code == 201, credit.text
    assert credit.json()["balance"] == {"available": 550, "pending": 0}
    assert (debit.status_code, debit.json()["code"]) == (422, "insufficient_points")
    assert (too_much.status_code, too_much.json()["code"]) == (422, "insufficient_points")
    assert (no_reason.status_code, no_reason.json()["errors"][0]["field"]) == (422, "reason")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "member_not_found")
    ledger = await api.client.get("/v1/me/ledger", headers=api.member_headers(member["member_id"]))
    assert ledger.json()["items"][0]["type"] == "adjust"
    connection = await asyncpg.connect(clean_db)
    try:
        actor, reason = await connection.fetchrow(
            "SELECT actor, reason FROM points_entries WHERE entry_type = 'adjust'"
        )
        audited = await connection.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'points.adjusted'"
        )
    finally:
        await connection.close()
    assert (actor, reason, audited) == ("admin:test-admin", "goodwill: late delivery", 1)


async def test_only_admins_adjust_points(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    response = await till.post(
        f"/v1/admin/members/{member['member_id']}/adjustments", {"points": 5, "reason": "x"}
    )

    assert response.status_code == 403
