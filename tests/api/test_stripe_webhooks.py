"""Stripe events with Stripe's own object shapes, signed as Stripe signs them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from httpx import Response

from tests.api.client import Api
from tests.support.webhooks import (
    charge,
    dispute,
    payment_intent,
    shop_event,
    shop_headers,
    stripe_event,
    stripe_headers,
)

PI = "pi_3QfR3XLkdIwHu7ix0snN0B15"


async def send(api: Api, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return await api.client.post(
        "/v1/webhooks/stripe", content=body, headers=headers or stripe_headers(body)
    )


async def stripe(api: Api, event_type: str, obj: dict[str, Any], **kw: Any) -> Response:
    return await send(api, stripe_event(event_type, obj, **kw))


async def points(api: Api, member_id: str) -> dict[str, int]:
    me = await api.client.get("/v1/me", headers=api.member_headers(member_id))
    return {k: me.json()["points"][k] for k in ("available", "pending")}


async def fetch(db: str, sql: str) -> Any:
    connection = await asyncpg.connect(db)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def member(api: Api) -> str:
    till = await api.open_till()
    enrolled = await till.enrol()
    member_id: str = enrolled["member_id"]
    return member_id


async def test_a_members_payment_earns_pending_points_on_the_amount_received(
    api: Api, clean_db: str
) -> None:
    member_id = await member(api)

    paid = await stripe(
        api,
        "payment_intent.succeeded",
        payment_intent(PI, 25000, metadata={"member_id": member_id}),
    )

    assert paid.status_code == 200, paid.text
    assert paid.json()["outcome"] == "applied"
    assert await points(api, member_id) == {"available": 0, "pending": 250}
    assert await fetch(clean_db, "SELECT receipt_id FROM sales WHERE channel = 'web'") == PI


async def test_a_payment_in_another_currency_is_refused_and_records_nothing(
    api: Api, clean_db: str
) -> None:
    member_id = await member(api)

    paid = await stripe(
        api,
        "payment_intent.succeeded",
        payment_intent(PI, 25000, currency="usd", metadata={"member_id": member_id}),
    )

    assert (paid.status_code, paid.json()["code"]) == (422, "currency_mismatch")
    assert await fetch(clean_db, "SELECT count(*) FROM webhook_events") == 0
    assert await fetch(clean_db, "SELECT count(*) FROM sales") == 0


async def test_a_payment_without_a_member_or_of_an_unknown_type_is_ignored(api: Api) -> None:
    guest = await stripe(api, "payment_intent.succeeded", payment_intent(PI, 25000))
    other = await stripe(api, "customer.created", {"id": "cus_1", "object": "customer"})

    assert (guest.status_code, guest.json()["outcome"]) == (200, "ignored")
    assert (other.status_code, other.json()["outcome"]) == (200, "ignored")


async def test_an_unknown_member_is_a_404(api: Api) -> None:
    paid = await stripe(
        api,
        "payment_intent.succeeded",
        payment_intent(PI, 100, metadata={"member_id": "00000000-0000-0000-0000-00000000abcd"}),
    )

    assert (paid.status_code, paid.json()["code"]) == (404, "member_not_found")


async def test_cumulative_refunds_reverse_only_what_is_newly_refunded(
    api: Api, clean_db: str
) -> None:
    member_id = await member(api)
    await stripe(
        api,
        "payment_intent.succeeded",
        payment_intent(PI, 25000, metadata={"member_id": member_id}),
    )

    first = await stripe(api, "charge.refunded", charge(PI, 25000, 10000))
    late_copy = await stripe(api, "charge.refunded", charge(PI, 25000, 10000))  # new event id
    second = await stripe(api, "charge.refunded", charge(PI, 25000, 25000))

    assert [r.json()["outcome"] for r in (first, late_copy, second)] == [
        "applied",
        "ignored",
        "applied",
    ]
    assert await fetch(clean_db, "SELECT refunded_amount FROM sales") == 25000
    assert await fetch(clean_db, "SELECT points_reversed FROM sales") == 250
    assert await points(api, member_id) == {"available": 0, "pending": 0}


async def test_the_same_stripe_event_delivered_twice_is_applied_once(
    api: Api, clean_db: str
) -> None:
    member_id = await member(api)
    body = stripe_event(
        "payment_intent.succeeded", payment_intent(PI, 25000, metadata={"member_id": member_id})
    )

    first = await send(api, body)
    second = await send(api, body)

    assert [first.json()["outcome"], second.json()["outcome"]] == ["applied", "duplicate"]
    assert await fetch(clean_db, "SELECT count(*) FROM sales") == 1


async def test_a_disputed_shop_order_payment_freezes_its_points_until_the_dispute_is_won(
    api: Api,
) -> None:
    member_id = await member(api)
    paid_at = datetime.now(UTC).isoformat()
    for event_type, data in [
        ("customer.linked", {"customer_id": "C1", "member_id": member_id}),
        (
            "order.paid",
            {
                "order_id": "O-9",
                "customer_id": "C1",
                "lines": [{"sku": "SHEET", "quantity": 1, "unit_price": 25000}],
                "paid_at": paid_at,
            },
        ),
        ("order.completed", {"order_id": "O-9"}),
    ]:
        body = shop_event(event_type, data)
        shop = await api.client.post("/v1/webhooks/shop", content=body, headers=shop_headers(body))
        assert shop.status_code == 200, shop.text
    metadata = {"member_id": member_id, "order_id": "O-9"}

    linked = await stripe(
        api, "payment_intent.succeeded", payment_intent(PI, 25000, metadata=metadata)
    )
    disputed = await stripe(api, "charge.dispute.created", dispute(PI, 25000))
    frozen = await points(api, member_id)
    till = await api.open_till()
    spend = await till.sell(
        "R-SPEND",
        [{"sku": "TOWEL", "quantity": 1, "unit_price": 1000}],
        member_id=member_id,
        redeem_points=10,
    )
    won = await stripe(api, "charge.dispute.closed", dispute(PI, 25000, status="won"))

    assert linked.json()["outcome"] == "recorded"  # the shop's order earned, not the payment
    assert disputed.json()["outcome"] == "applied"
    assert frozen == {"available": 0, "pending": 0}
    assert (spend.status_code, spend.json()["code"]) == (422, "insufficient_points")
    assert won.json()["outcome"] == "applied"
    assert await points(api, member_id) == {"available": 250, "pending": 0}
    overview = await api.client.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)
    assert overview.json()["frozen_points"] == 0


async def test_a_lost_dispute_reverses_the_payments_points(api: Api, clean_db: str) -> None:
    member_id = await member(api)
    await stripe(
        api,
        "payment_intent.succeeded",
        payment_intent(PI, 25000, metadata={"member_id": member_id}),
    )
    await stripe(api, "charge.dispute.created", dispute(PI, 25000))

    lost = await stripe(api, "charge.dispute.closed", dispute(PI, 25000, status="lost"))

    assert lost.status_code == 200, lost.text
    assert await points(api, member_id) == {"available": 0, "pending": 0}
    assert await fetch(clean_db, "SELECT refunded_amount FROM sales") == 25000


async def test_a_stripe_event_signed_with_another_secret_is_refused(
    api: Api, clean_db: str
) -> None:
    member_id = await member(api)
    body = stripe_event(
        "payment_intent.succeeded", payment_intent(PI, 25000, metadata={"member_id": member_id})
    )

    forged = await send(api, body, stripe_headers(body, secret="whsec_someone_else"))
    tampered = await send(api, body.replace(b"25000", b"99900"), stripe_headers(body))
    stale = await send(api, body, stripe_headers(body, timestamp=int(time.time()) - 600))
    missing = await api.client.post("/v1/webhooks/stripe", content=body)

    for response in (forged, tampered, missing):
        assert (response.status_code, response.json()["code"]) == (401, "signature_invalid")
    assert (stale.status_code, stale.json()["code"]) == (401, "signature_expired")
    assert await fetch(clean_db, "SELECT count(*) FROM sales") == 0


async def test_a_correctly_signed_event_dated_a_year_ahead_is_refused_as_expired(
    api: Api, clean_db: str
) -> None:
    member_id = await member(api)
    body = stripe_event(
        "payment_intent.succeeded", payment_intent(PI, 25000, metadata={"member_id": member_id})
    )
    now = int(time.time())

    ahead = await send(api, body, stripe_headers(body, timestamp=now + 365 * 86400))
    just_over = await send(api, body, stripe_headers(body, timestamp=now + 330))
    skewed = await send(api, body, stripe_headers(body, timestamp=now + 240))

    for refused in (ahead, just_over):
        assert (refused.status_code, refused.json()["code"]) == (401, "signature_expired")
    # A sender's clock a few minutes ahead is within the promised five minutes.
    assert skewed.status_code == 200, skewed.text
    assert await fetch(clean_db, "SELECT count(*) FROM sales") == 1


async def test_a_shop_orders_payment_is_never_counted_twice(api: Api, clean_db: str) -> None:
    member_id = await member(api)
    for event_type, data in [
        ("customer.linked", {"customer_id": "C1", "member_id": member_id}),
        (
            "order.paid",
            {
                "order_id": "O-5",
                "customer_id": "C1",
                "lines": [{"sku": "SHEET", "quantity": 1, "unit_price": 25000}],
                "paid_at": datetime.now(UTC).isoformat(),
            },
        ),
    ]:
        body = shop_event(event_type, data)
        shop = await api.client.post("/v1/webhooks/shop", content=body, headers=shop_headers(body))
        assert shop.status_code == 200, shop.text
    metadata = {"member_id": member_id, "order_id": "O-5"}

    paid = await stripe(
        api, "payment_intent.succeeded", payment_intent(PI, 25000, metadata=metadata)
    )
    refunded = await stripe(api, "charge.refunded", charge(PI, 25000, 25000))

    assert (paid.json()["outcome"], refunded.json()["outcome"]) == ("recorded", "recorded")
    assert await fetch(clean_db, "SELECT count(*) FROM sales") == 1
    # The shop's own order.refunded moves the points back, not Stripe's copy of the refund.
    assert await fetch(clean_db, "SELECT refunded_amount FROM sales") == 0
    assert await fetch(clean_db, "SELECT amount_refunded FROM stripe_payments") == 25000
    assert await points(api, member_id) == {"available": 0, "pending": 250}
