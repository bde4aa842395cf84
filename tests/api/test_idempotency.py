"""Every write a terminal retries is applied once, also when the retries race each other."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.api.client import Api

LINES = [{"sku": "SHEET-KING", "quantity": 1, "unit_price": 25000}]


async def _count(db_url: str, sql: str) -> int:
    connection = await asyncpg.connect(db_url)
    try:
        value: int = await connection.fetchval(sql)
        return value
    finally:
        await connection.close()


async def test_a_retried_sale_returns_the_first_answer_and_applies_nothing_twice(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member = await till.enrol()
    first = await till.sell("R-1", LINES, member_id=member["member_id"], key="sale-R-1")
    retry = await till.sell("R-1", LINES, member_id=member["member_id"], key="sale-R-1")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert await _count(clean_db, "SELECT count(*) FROM sales") == 1
    assert await _count(clean_db, "SELECT count(*) FROM points_entries") == 1
    assert await _count(clean_db, "SELECT available FROM points_accounts") == 250


async def test_the_same_key_sent_20_times_records_one_sale(api: Api, clean_db: str) -> None:
    till = await api.open_till()
    member = await till.enrol()

    responses = await asyncio.gather(
        *(
            till.sell("R-RACE", LINES, member_id=member["member_id"], key="one-key")
            for _ in range(20)
        )
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert await _count(clean_db, "SELECT count(*) FROM sales") == 1
    assert await _count(clean_db, "SELECT count(*) FROM points_entries") == 1
    assert await _count(clean_db, "SELECT available FROM points_accounts") == 250


async def test_one_receipt_sent_under_10_keys_is_recorded_once(api: Api, clean_db: str) -> None:
    till = await api.open_till()
    member = await till.enrol()

    responses = await asyncio.gather(
        *(till.sell("R-DUP", LINES, member_id=member["member_id"], key=f"k-{i}") for i in range(10))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"duplicate_receipt"}
    assert await _count(clean_db, "SELECT available FROM points_accounts") == 250


async def test_a_reused_key_with_another_body_is_refused(api: Api) -> None:
    till = await api.open_till()
    await till.sell("R-1", LINES, key="reused")
    other = await till.sell("R-2", LINES, key="reused")

    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.headers["content-type"].startswith("application/problem+json")


async def test_a_retry_with_reordered_json_keys_is_the_same_request(api: Api) -> None:
    till = await api.open_till()
    body = '{"receipt_id": "R-9", "lines": [{"sku": "A", "quantity": 1, "unit_price": 100}]}'
    reordered = '{"lines":[{"unit_price":100,"quantity":1,"sku":"A"}],"receipt_id":"R-9"}'
    headers = {**till.headers("same"), "Content-Type": "application/json"}

    first = await api.client.post("/v1/pos/sales", content=body, headers=headers)
    second = await api.client.post("/v1/pos/sales", content=reordered, headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json()["sale_id"] == second.json()["sale_id"]


async def test_a_refusal_is_remembered_under_its_key(api: Api, clean_db: str) -> None:
    till = await api.open_till()
    refused = await till.sell("R-C", LINES, key="coupon-sale", coupon_codes=["NOPE"])
    again = await till.sell("R-C", LINES, key="coupon-sale", coupon_codes=["NOPE"])

    assert refused.status_code == again.status_code == 422
    assert again.json() == refused.json()
    assert refused.json()["code"] == "coupon_not_redeemable"
    assert await _count(clean_db, "SELECT count(*) FROM sales") == 0


async def test_keys_belong_to_their_caller(api: Api, clean_db: str) -> None:
    north = await api.open_till("north")
    south = await api.open_till("south")

    a = await north.sell("R-1", LINES, key="shared-key")
    b = await south.sell("R-1", LINES, key="shared-key")

    assert a.status_code == b.status_code == 201
    assert a.json()["sale_id"] != b.json()["sale_id"]
    assert await _count(clean_db, "SELECT count(*) FROM sales") == 2


async def test_writes_without_an_idempotency_key_are_refused(api: Api) -> None:
    till = await api.open_till()
    headers = {"Authorization": f"Bearer {till.token}"}
    body = {"receipt_id": "R-1", "lines": LINES}

    missing = await api.client.post("/v1/pos/sales", json=body, headers=headers)
    too_long = await api.client.post(
        "/v1/pos/sales", json=body, headers={**headers, "Idempotency-Key": "k" * 256}
    )

    assert missing.status_code == too_long.status_code == 400
    assert missing.json()["code"] == too_long.json()["code"] == "idempotency_key_invalid"
