"""Returns at the till (issue #17, items 10 and 11): finding the sale by its receipt, the
sale a duplicate receipt collided with, returns at another store of the retailer, and error
texts a cashier can act on."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.api.client import Api, Till

LINES = [
    {"sku": "TOWEL", "quantity": 2, "unit_price": 12500},
    {"sku": "MUG", "quantity": 1, "unit_price": 3000},
]


async def _sale(till: Till, receipt_id: str = "R-1", member_id: str | None = None) -> Any:
    response = await till.sell(receipt_id, LINES, member_id=member_id)
    assert response.status_code == 201, response.text
    return response.json()


async def _find(till: Till, **query: str) -> Any:
    return await till.client.get("/v1/pos/sales", params=query, headers=till.headers())


async def _returns_at_any_store(api: Api, allowed: bool) -> None:
    current = await api.client.get("/v1/admin/program", headers=api.admin_headers)
    body = {k: v for k, v in current.json().items() if k != "version"}
    response = await api.client.put(
        "/v1/admin/program",
        json={**body, "refunds_at_any_store": allowed},
        headers=api.admin_headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["refunds_at_any_store"] is allowed


async def test_a_till_finds_its_stores_sale_by_receipt_id(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    sale = await _sale(till, member_id=member["member_id"])
    await till.refund(
        sale["sale_id"], {"refund_id": "F1", "lines": [{"sku": "TOWEL", "quantity": 1}]}
    )

    response = await _find(till, receipt_id="R-1")

    assert response.status_code == 200, response.text
    found = response.json()
    assert found["sale_id"] == sale["sale_id"]
    assert (found["receipt_id"], found["store_id"], found["member_id"]) == (
        "R-1",
        till.store_id,
        member["member_id"],
    )
    assert found["lines"] == [
        {
            "sku": "TOWEL",
            "category": None,
            "quantity": 2,
            "unit_price": 12500,
            "refunded_quantity": 1,
        },
        {"sku": "MUG", "category": None, "quantity": 1, "unit_price": 3000, "refunded_quantity": 0},
    ]
    assert (found["payable"], found["refunded_amount"], found["refundable_amount"]) == (
        28000,
        12500,
        15500,
    )


async def test_a_receipt_of_another_store_is_not_found_without_its_store_code(api: Api) -> None:
    north = await api.open_till("north")
    south = await api.open_till("south")
    await _sale(north)

    unknown = await _find(south, receipt_id="R-1")
    missing = await _find(south, receipt_id="R-404", store_code="north")
    no_store = await _find(south, receipt_id="R-1", store_code="nowhere")

    assert (unknown.status_code, unknown.json()["code"]) == (404, "sale_not_found")
    assert (missing.status_code, missing.json()["code"]) == (404, "sale_not_found")
    assert (no_store.status_code, no_store.json()["code"]) == (404, "store_not_found")


async def test_a_sale_lookup_needs_a_receipt_id(api: Api) -> None:
    till = await api.open_till()

    response = await _find(till)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == ["receipt_id"]


async def test_a_duplicate_receipt_names_the_sale_recorded_first(api: Api) -> None:
    till = await api.open_till()
    first = await _sale(till)

    again = await till.sell("R-1", LINES)

    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "duplicate_receipt"
    assert body["sale_id"] == first["sale_id"]


async def test_a_return_at_another_store_is_taken_by_default_and_audited_with_both_stores(
    api: Api, clean_db: str
) -> None:
    north = await api.open_till("north")
    south = await api.open_till("south")
    member = await north.enrol()
    sale = await _sale(north, member_id=member["member_id"])

    found = await _find(south, receipt_id="R-1", store_code="north")
    response = await south.refund(
        found.json()["sale_id"], {"refund_id": "F1", "lines": [{"sku": "MUG", "quantity": 1}]}
    )

    assert found.status_code == 200, found.text
    assert found.json()["sale_id"] == sale["sale_id"]
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == 3000
    connection = await asyncpg.connect(clean_db)
    try:
        audited = await connection.fetch(
            "SELECT actor, subject, details FROM audit_log "
            "WHERE action = 'sale.refunded_at_other_store'"
        )
    finally:
        await connection.close()
    assert len(audited) == 1
    assert audited[0]["actor"] == f"pos:{south.terminal_id}"
    assert audited[0]["subject"] == f"sale:{sale['sale_id']}"
    import json

    details = json.loads(audited[0]["details"])
    assert details == {
        "sale_store_id": north.store_id,
        "refund_store_id": south.store_id,
        "refund_id": "F1",
        "amount": 3000,
    }


async def test_a_return_at_the_store_of_the_sale_is_not_audited_as_one_elsewhere(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    sale = await _sale(till)

    response = await till.refund(sale["sale_id"], {"refund_id": "F1", "amount": 100})

    assert response.status_code == 201, response.text
    connection = await asyncpg.connect(clean_db)
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'sale.refunded_at_other_store'"
        )
    finally:
        await connection.close()
    assert count == 0


async def test_with_returns_only_at_the_store_of_sale_another_store_gets_a_stable_403(
    api: Api,
) -> None:
    north = await api.open_till("north")
    south = await api.open_till("south")
    sale = await _sale(north)
    await _returns_at_any_store(api, False)

    refund = await south.refund(sale["sale_id"], {"refund_id": "F1", "amount": 100})
    lookup = await _find(south, receipt_id="R-1", store_code="north")
    own = await north.refund(sale["sale_id"], {"refund_id": "F1", "amount": 100})

    assert (refund.status_code, refund.json()["code"]) == (403, "other_store_returns_disabled")
    assert (lookup.status_code, lookup.json()["code"]) == (403, "other_store_returns_disabled")
    assert own.status_code == 201, own.text


async def test_refunding_an_sku_the_sale_does_not_have_says_so(api: Api) -> None:
    till = await api.open_till()
    sale = await _sale(till)

    response = await till.refund(
        sale["sale_id"], {"refund_id": "F1", "lines": [{"sku": "SOCKS", "quantity": 1}]}
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "sku_not_on_sale"
    assert body["detail"] == "'SOCKS' is not on this sale"
    assert "left" not in body["detail"]


async def test_refunding_more_than_is_left_of_an_sku_says_how_many_are_left(api: Api) -> None:
    till = await api.open_till()
    sale = await _sale(till)
    await till.refund(
        sale["sale_id"], {"refund_id": "F1", "lines": [{"sku": "MUG", "quantity": 1}]}
    )

    again = await till.refund(
        sale["sale_id"], {"refund_id": "F2", "lines": [{"sku": "MUG", "quantity": 1}]}
    )
    too_many = await till.refund(
        sale["sale_id"], {"refund_id": "F3", "lines": [{"sku": "TOWEL", "quantity": 3}]}
    )

    assert again.json()["code"] == "refund_exceeds_sale"
    assert "already been refunded" in again.json()["detail"]
    assert too_many.json()["code"] == "refund_exceeds_sale"
    assert too_many.json()["detail"] == "3 x 'TOWEL' requested, only 2 left to refund"


async def test_a_member_lookup_without_a_parameter_lists_the_parameters_it_takes(
    api: Api,
) -> None:
    till = await api.open_till()

    none = await till.client.get("/v1/pos/members/lookup", headers=till.headers())
    two = await till.client.get(
        "/v1/pos/members/lookup",
        params={"phone": "+8613800138000", "card_number": "1234"},
        headers=till.headers(),
    )

    assert none.status_code == 422
    assert none.json()["code"] == "validation_error"
    assert [e["field"] for e in none.json()["errors"]] == ["card_number", "phone", "card_token"]
    assert two.status_code == 422
    assert [e["field"] for e in two.json()["errors"]] == ["card_number", "phone"]


async def test_an_invalid_enum_value_in_a_body_lists_the_allowed_values(api: Api) -> None:
    current = await api.client.get("/v1/admin/program", headers=api.admin_headers)
    body = {k: v for k, v in current.json().items() if k != "version"}

    response = await api.client.put(
        "/v1/admin/program",
        json={**body, "points_expiry": {"kind": "weekly"}},
        headers=api.admin_headers,
    )

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "points_expiry.kind"
    assert error["message"] == (
        "Invalid enum value 'weekly'; allowed: days, end_of_month, end_of_year, never"
    )


async def test_an_invalid_enum_value_in_a_query_lists_the_allowed_values(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()

    response = await api.client.get(
        "/v1/me/coupons",
        params={"status": "gone"},
        headers=api.member_headers(member["member_id"]),
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "status"
    assert "allowed: available, expired, redeemed, voided" in body["errors"][0]["message"]
