"""Webhook deliveries that race for real: concurrent requests over TCP to a served process.

Each burst runs through `race` (tests/support/overlap.py), which proves that its deliveries
overlapped: all of them were in flight in the database at once, queued on one lock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.overlap import race
from tests.support.webhooks import (
    payment_intent,
    shop_event,
    shop_headers,
    stripe_event,
    stripe_headers,
)

LINES = [{"sku": "SHEET", "quantity": 1, "unit_price": 25000}]
# Every delivery records its event id first, as the first write of its transaction.
GATE = "webhook_events"


@pytest.fixture
async def http(service: tuple[str, dict[str, str]], clean_db: str) -> Any:
    base, _ = service
    async with httpx.AsyncClient(
        base_url=base, timeout=30, limits=httpx.Limits(max_connections=40)
    ) as client:
        yield client, clean_db


async def fetch(db_url: str, sql: str) -> Any:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def shop(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post("/v1/webhooks/shop", content=body, headers=shop_headers(body))


async def test_one_shop_order_delivered_ten_times_at_once_is_applied_once(http: Any) -> None:
    client, db = http
    linked = await shop(
        client, shop_event("customer.linked", {"customer_id": "C1", "phone": "+8613800138000"})
    )
    assert linked.status_code == 200, linked.text
    body = shop_event(
        "order.paid",
        {
            "order_id": "O-RACE",
            "customer_id": "C1",
            "lines": LINES,
            "paid_at": datetime.now(UTC).isoformat(),
        },
        "evt-race",
    )

    responses, waits = await race(db, [shop(client, body) for _ in range(10)], gate=GATE)

    waits.assert_overlapped("one order delivered 10 times", at_least=10)
    assert {r.status_code for r in responses} == {200}
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["applied"] + ["duplicate"] * 9
    assert await fetch(db, "SELECT count(*) FROM sales") == 1
    assert await fetch(db, "SELECT pending FROM points_accounts") == 250
    assert await fetch(db, "SELECT count(*) FROM webhook_events WHERE event_id = 'evt-race'") == 1


async def test_a_customer_linked_twice_at_once_enrols_one_member(http: Any) -> None:
    client, db = http
    body = shop_event(
        "customer.linked", {"customer_id": "C9", "phone": "+8613900139000"}, "evt-link"
    )

    responses, waits = await race(db, [shop(client, body) for _ in range(8)], gate=GATE)

    waits.assert_overlapped("one customer.linked delivered 8 times", at_least=8)
    assert {r.status_code for r in responses} == {200}
    assert await fetch(db, "SELECT count(*) FROM members") == 1
    assert await fetch(db, "SELECT count(*) FROM shop_customers") == 1


async def test_one_stripe_payment_delivered_ten_times_at_once_earns_once(http: Any) -> None:
    client, db = http
    linked = await shop(
        client, shop_event("customer.linked", {"customer_id": "C1", "phone": "+8613800138000"})
    )
    assert linked.status_code == 200, linked.text
    member_id = await fetch(db, "SELECT id::text FROM members")
    body = stripe_event(
        "payment_intent.succeeded",
        payment_intent("pi_3QRaceLkdIwHu7ix0snN0B15", 25000, metadata={"member_id": member_id}),
    )

    responses, waits = await race(
        db,
        [
            client.post("/v1/webhooks/stripe", content=body, headers=stripe_headers(body))
            for _ in range(10)
        ],
        gate=GATE,
    )

    waits.assert_overlapped("one Stripe payment delivered 10 times", at_least=10)
    assert {r.status_code for r in responses} == {200}
    assert sorted(r.json()["outcome"] for r in responses) == ["applied"] + ["duplicate"] * 9
    assert await fetch(db, "SELECT count(*) FROM sales") == 1
    assert await fetch(db, "SELECT pending FROM points_accounts") == 250


async def test_two_customer_ids_linked_with_one_new_phone_at_once_share_one_member(
    http: Any,
) -> None:
    client, db = http
    phone = "+8613700137000"
    bodies = [
        shop_event("customer.linked", {"customer_id": f"C-{n}", "phone": phone}) for n in range(6)
    ]

    responses, waits = await race(db, [shop(client, body) for body in bodies], gate=GATE)

    waits.assert_overlapped("6 customer ids linked with one phone", at_least=6)
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    assert await fetch(db, "SELECT count(*) FROM members") == 1
    assert await fetch(db, "SELECT count(DISTINCT member_id) FROM shop_customers") == 1
    assert await fetch(db, "SELECT count(*) FROM shop_customers") == 6
