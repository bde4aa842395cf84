"""Quotes and sales at the till: what is paid, what is earned, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from tests.api.client import Api

LINES = [{"sku": "DUVET", "category": "bedding", "quantity": 1, "unit_price": 19999}]


async def test_a_quote_prices_the_basket_and_records_nothing(api: Api, clean_db: str) -> None:
    till = await api.open_till()
    member = await till.enrol()

    quote = await till.post(
        "/v1/pos/quote",
        {"member_id": member["member_id"], "lines": LINES, "coupon_codes": ["WELCOME10"]},
    )

    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert body["payable"] == 19999
    assert body["points_earned"] == 199  # floor(199.99 x 1)
    assert body["rejected_coupons"] == [{"code": "WELCOME10", "code_reason": "malformed"}]
    assert body["applied_coupons"] == []
    assert "sale_id" not in body
    connection = await asyncpg.connect(clean_db)
    try:
        assert await connection.fetchval("SELECT count(*) FROM sales") == 0
    finally:
        await connection.close()


async def test_a_guest_sale_earns_nothing_and_names_no_tier(api: Api) -> None:
    till = await api.open_till()
    response = await till.sell("R-G", LINES)

    assert response.status_code == 201
    assert response.json()["points_earned"] == 0
    assert response.json()["points"] is None
    assert response.json()["tier"] is None


async def test_a_sale_with_a_coupon_that_cannot_apply_is_refused(api: Api) -> None:
    till = await api.open_till()
    response = await till.sell("R-C", LINES, coupon_codes=["SUMMER"])

    assert response.status_code == 422
    assert response.json()["code"] == "coupon_not_redeemable"


async def test_a_receipt_id_is_unique_per_store_not_globally(api: Api) -> None:
    north = await api.open_till("north")
    south = await api.open_till("south")

    assert (await north.sell("R-1", LINES)).status_code == 201
    assert (await south.sell("R-1", LINES)).status_code == 201


async def test_the_tier_multiplier_scales_earning_and_floors(api: Api, clean_db: str) -> None:
    till = await api.open_till()
    member = await till.enrol()
    connection = await asyncpg.connect(clean_db)
    try:
        await connection.execute(
            "INSERT INTO tiers (code, name, rank, threshold, earn_multiplier) "
            "VALUES ('gold', 'Gold', 1, 100000, 1.5)"
        )
        await connection.execute("UPDATE members SET tier_code = 'gold'")
    finally:
        await connection.close()

    response = await till.sell("R-T", LINES, member_id=member["member_id"])

    assert response.json()["points_earned"] == 299  # floor(199.99 x 1.5)
    assert response.json()["tier"] == {"code": "gold", "name": "Gold"}


async def test_a_changed_earn_rate_applies_to_the_next_sale(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    program = (await api.client.get("/v1/admin/program", headers=api.admin_headers)).json()
    program.pop("version")
    program["earn_rate"] = "2.5"
    updated = await api.client.put("/v1/admin/program", json=program, headers=api.admin_headers)
    assert updated.status_code == 200, updated.text

    response = await till.sell("R-E", LINES, member_id=member["member_id"])

    assert response.json()["points_earned"] == 499  # floor(199.99 x 2.5)


async def test_a_sale_backdated_within_the_limit_is_kept_older_or_future_ones_are_refused(
    api: Api,
) -> None:
    till = await api.open_till()
    now = datetime.now(UTC)
    past = await till.sell("R-P", LINES, occurred_at=(now - timedelta(days=89)).isoformat())
    too_old = await till.sell("R-O", LINES, occurred_at=(now - timedelta(days=91)).isoformat())
    future = await till.sell("R-F", LINES, occurred_at=(now + timedelta(hours=1)).isoformat())

    assert past.status_code == 201
    for refused in (too_old, future):
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "occurred_at"


async def test_a_quote_needs_no_idempotency_key_and_stores_no_answer(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member = await till.enrol()
    headers = {"Authorization": f"Bearer {till.token}"}
    body = {"member_id": member["member_id"], "lines": LINES}

    quote = await api.client.post("/v1/pos/quote", json=body, headers=headers)
    refused = await api.client.post(
        "/v1/pos/quote", json={**body, "redeem_points": 5}, headers=headers
    )

    assert quote.status_code == 200, quote.text
    assert quote.json()["payable"] == 19999
    assert (refused.status_code, refused.json()["code"]) == (422, "insufficient_points")
    connection = await asyncpg.connect(clean_db)
    try:
        stored = await connection.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE caller LIKE 'pos:%'"
        )
    finally:
        await connection.close()
    assert stored == 1  # the enrolment's, none for the quotes


async def test_a_bad_idempotency_key_on_a_quote_is_refused_without_calling_it_a_write(
    api: Api,
) -> None:
    till = await api.open_till()
    quote = await till.post("/v1/pos/quote", {"lines": LINES}, key="k" * 256)

    assert quote.status_code == 400, quote.text
    assert quote.json()["code"] == "idempotency_key_invalid"
    assert "write" not in quote.json()["detail"]


async def test_a_sale_still_needs_an_idempotency_key(api: Api) -> None:
    till = await api.open_till()
    sale = await api.client.post(
        "/v1/pos/sales",
        json={"receipt_id": "R-NOKEY", "lines": LINES},
        headers={"Authorization": f"Bearer {till.token}"},
    )

    assert sale.status_code == 400, sale.text
    assert sale.json()["code"] == "idempotency_key_invalid"
