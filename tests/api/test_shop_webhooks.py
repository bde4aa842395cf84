"""The web shop's signed events, end to end over HTTP on PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from httpx import Response

from tests.api.client import Api
from tests.support.webhooks import shop_event, shop_headers

PHONE = "+8613800138000"
SHEET = [{"sku": "SHEET", "category": "bedding", "quantity": 1, "unit_price": 25000}]
PILLOWS = [
    {"sku": "PILLOW", "quantity": 2, "unit_price": 5000},
    {"sku": "CASE", "quantity": 1, "unit_price": 10000},
]


async def send(api: Api, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return await api.client.post(
        "/v1/webhooks/shop", content=body, headers=headers or shop_headers(body)
    )


async def event(api: Api, event_type: str, data: dict[str, Any], **kw: Any) -> Response:
    return await send(api, shop_event(event_type, data, **kw))


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


async def link(api: Api, customer_id: str = "C1", phone: str = PHONE) -> None:
    response = await event(api, "customer.linked", {"customer_id": customer_id, "phone": phone})
    assert response.status_code == 200, response.text


async def pay(api: Api, order_id: str = "O1", lines: Any = SHEET, **extra: Any) -> Response:
    data = {
        "order_id": order_id,
        "customer_id": "C1",
        "lines": lines,
        "coupon_codes": [],
        "redeem_points": 0,
        "paid_at": now_iso(),
        **extra,
    }
    return await event(api, "order.paid", data)


async def points(api: Api, member_id: str) -> dict[str, int]:
    me = await api.client.get("/v1/me", headers=api.member_headers(member_id))
    assert me.status_code == 200, me.text
    return {k: me.json()["points"][k] for k in ("available", "pending")}


async def member_id_of(api: Api, phone: str = PHONE) -> str:
    till = await api.open_till()
    found = await api.client.get(
        "/v1/pos/members/lookup", params={"phone": phone}, headers=till.headers()
    )
    assert found.status_code == 200, found.text
    member_id: str = found.json()["member_id"]
    return member_id


async def count(db: str, sql: str) -> Any:
    connection = await asyncpg.connect(db)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def test_a_linked_customer_paying_online_earns_pending_points_at_the_web_store(
    api: Api, clean_db: str
) -> None:
    await link(api)

    paid = await pay(api)

    assert paid.status_code == 200, paid.text
    assert paid.json()["outcome"] == "applied"
    member_id = await member_id_of(api)
    assert await points(api, member_id) == {"available": 0, "pending": 250}
    assert await count(clean_db, "SELECT channel || ':' || receipt_id FROM sales") == "web:O1"
    assert await count(clean_db, "SELECT code FROM stores s JOIN sales ON store_id = s.id") == (
        "webshop"
    )


async def test_customer_linked_for_a_known_phone_links_to_that_member(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol(PHONE)

    await link(api, "C-77", "13800138000")

    overview = await api.client.get(
        f"/v1/admin/members/{member['member_id']}", headers=api.admin_headers
    )
    assert overview.json()["shop_customer_ids"] == ["C-77"]


async def test_a_customer_id_cannot_be_moved_to_another_member(api: Api) -> None:
    await link(api, "C1", PHONE)

    moved = await event(api, "customer.linked", {"customer_id": "C1", "phone": "+8613900139000"})

    assert (moved.status_code, moved.json()["code"]) == (409, "customer_linked_elsewhere")


async def test_order_completed_makes_the_orders_pending_points_available_now(api: Api) -> None:
    await link(api)
    await pay(api)
    member_id = await member_id_of(api)

    completed = await event(api, "order.completed", {"order_id": "O1"})
    again = await event(api, "order.completed", {"order_id": "O1"})

    assert completed.status_code == 200, completed.text
    assert again.status_code == 200  # a second completion (new event id) releases nothing
    assert await points(api, member_id) == {"available": 250, "pending": 0}
    ledger = await api.client.get("/v1/me/ledger", headers=api.member_headers(member_id))
    assert [(e["type"], e["points"]) for e in ledger.json()["items"]] == [("earn", 250)]


async def test_a_refund_before_completion_cancels_pending_points_pro_rata(api: Api) -> None:
    await link(api)
    await pay(api, lines=PILLOWS)
    member_id = await member_id_of(api)

    by_lines = await event(
        api,
        "order.refunded",
        {"order_id": "O1", "refund_id": "F1", "lines": [{"sku": "PILLOW", "quantity": 1}]},
    )
    by_amount = await event(
        api, "order.refunded", {"order_id": "O1", "refund_id": "F2", "amount": 10000}
    )

    assert (by_lines.status_code, by_amount.status_code) == (200, 200), by_lines.text
    assert await points(api, member_id) == {"available": 0, "pending": 50}


async def test_a_refund_after_completion_reverses_available_points(api: Api) -> None:
    await link(api)
    await pay(api)
    await event(api, "order.completed", {"order_id": "O1"})
    member_id = await member_id_of(api)

    refunded = await event(
        api, "order.refunded", {"order_id": "O1", "refund_id": "F1", "amount": 10000}
    )

    assert refunded.status_code == 200, refunded.text
    assert await points(api, member_id) == {"available": 150, "pending": 0}


async def test_a_refund_before_the_order_is_paid_is_refused_and_can_be_resent_later(
    api: Api, clean_db: str
) -> None:
    await link(api)
    refund = shop_event(
        "order.refunded", {"order_id": "O1", "refund_id": "F1", "amount": 5000}, "evt-refund"
    )

    early = await send(api, refund)
    assert (early.status_code, early.json()["code"]) == (404, "order_not_found")
    assert (
        await count(clean_db, "SELECT count(*) FROM webhook_events WHERE event_id = 'evt-refund'")
        == 0
    )

    await pay(api)
    resent = await send(api, refund)

    assert resent.status_code == 200, resent.text
    assert resent.json()["outcome"] == "applied"
    assert await count(clean_db, "SELECT refunded_amount FROM sales") == 5000


async def test_events_for_an_unknown_order_change_nothing(api: Api, clean_db: str) -> None:
    await link(api)

    completed = await event(api, "order.completed", {"order_id": "NOPE"})
    reviewed = await event(
        api,
        "review.posted",
        {"review_id": "RV1", "order_id": "NOPE", "rating": 5, "customer_id": "C1"},
    )

    assert (completed.status_code, completed.json()["code"]) == (404, "order_not_found")
    assert (reviewed.status_code, reviewed.json()["code"]) == (404, "order_not_found")
    assert await count(clean_db, "SELECT count(*) FROM webhook_events") == 1  # the link only


async def test_the_same_event_delivered_twice_is_applied_once(api: Api, clean_db: str) -> None:
    await link(api)
    body = shop_event(
        "order.paid",
        {"order_id": "O1", "customer_id": "C1", "lines": SHEET, "paid_at": now_iso()},
        "evt-paid-1",
    )

    first = await send(api, body)
    second = await send(api, body)  # the very same delivery, replayed within the window

    assert [first.json()["outcome"], second.json()["outcome"]] == ["applied", "duplicate"]
    assert second.status_code == 200
    assert await count(clean_db, "SELECT count(*) FROM sales") == 1
    assert await points(api, await member_id_of(api)) == {"available": 0, "pending": 250}


async def test_an_order_paid_again_under_another_event_id_is_a_conflict(api: Api) -> None:
    await link(api)
    await pay(api)

    again = await pay(api)

    assert (again.status_code, again.json()["code"]) == (409, "order_already_paid")


async def test_an_online_order_pays_with_points_like_a_till_sale(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol(PHONE)
    await till.sell(
        "R1", [{"sku": "DUVET", "quantity": 1, "unit_price": 50000}], member_id=member["member_id"]
    )
    await link(api)

    paid = await pay(api, redeem_points=100)

    assert paid.status_code == 200, paid.text
    # 250.00 less 100 points worth one minor unit each: 249.00 paid, 249 points pending.
    assert await points(api, member["member_id"]) == {"available": 400, "pending": 249}


async def test_an_order_with_a_coupon_that_cannot_be_applied_is_refused(
    api: Api, clean_db: str
) -> None:
    await link(api)

    paid = await pay(api, coupon_codes=["NOT-A-COUPON"])

    assert (paid.status_code, paid.json()["code"]) == (422, "coupon_not_redeemable")
    assert await count(clean_db, "SELECT count(*) FROM sales") == 0


async def test_an_order_for_a_customer_never_linked_is_refused(api: Api) -> None:
    paid = await pay(api)

    assert (paid.status_code, paid.json()["code"]) == (422, "customer_not_linked")


async def test_bad_data_is_a_precise_422_and_records_nothing(api: Api, clean_db: str) -> None:
    await link(api)

    zero = await pay(api, lines=[{"sku": "SHEET", "quantity": 0, "unit_price": 100}])
    no_lines = await pay(api, lines=[])
    both = await event(
        api,
        "order.refunded",
        {"order_id": "O1", "refund_id": "F1", "amount": 1, "lines": [{"sku": "A", "quantity": 1}]},
    )
    rating = await event(
        api,
        "review.posted",
        {"review_id": "R", "order_id": "O1", "rating": 6, "member_id": None, "customer_id": "C1"},
    )
    future = await pay(api, paid_at="2999-01-01T00:00:00+00:00")

    assert zero.status_code == 422
    assert zero.json()["errors"][0]["field"] == "data.lines[0].quantity"
    assert no_lines.json()["errors"][0]["field"] == "data.lines"
    assert (both.status_code, both.json()["code"]) == (422, "validation_error")
    assert (rating.status_code, rating.json()["code"]) == (422, "validation_error")
    assert (future.status_code, future.json()["code"]) == (422, "validation_error")
    assert await count(clean_db, "SELECT count(*) FROM webhook_events") == 1  # the link only
    assert await count(clean_db, "SELECT count(*) FROM sales") == 0


async def test_a_review_of_the_members_own_order_is_recorded_once(api: Api, clean_db: str) -> None:
    await link(api)
    await link(api, "C2", "+8613900139000")
    await pay(api)
    review = {"review_id": "RV1", "order_id": "O1", "rating": 5, "customer_id": "C1"}

    posted = await event(api, "review.posted", review)
    again = await event(api, "review.posted", review)
    stranger = await event(
        api, "review.posted", {**review, "review_id": "RV2", "customer_id": "C2"}
    )

    assert posted.status_code == 200, posted.text
    assert (again.status_code, again.json()["code"]) == (409, "duplicate_review")
    assert (stranger.status_code, stranger.json()["code"]) == (422, "not_own_order")
    assert await count(clean_db, "SELECT count(*) FROM shop_reviews") == 1


async def test_an_unknown_event_type_is_acknowledged_and_ignored(api: Api) -> None:
    response = await event(api, "cart.abandoned", {"cart_id": "K1"})

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"


# Signatures ---------------------------------------------------------------------------------


async def test_a_forged_signature_is_refused(api: Api, clean_db: str) -> None:
    body = shop_event("customer.linked", {"customer_id": "C1", "phone": PHONE})

    forged = await send(api, body, shop_headers(body, secret="not-the-shared-secret"))

    assert (forged.status_code, forged.json()["code"]) == (401, "signature_invalid")
    assert await count(clean_db, "SELECT count(*) FROM members") == 0


async def test_a_body_changed_after_signing_is_refused(api: Api) -> None:
    body = shop_event("customer.linked", {"customer_id": "C1", "phone": PHONE})
    headers = shop_headers(body)

    tampered = await send(api, body.replace(b"C1", b"C2"), headers)

    assert (tampered.status_code, tampered.json()["code"]) == (401, "signature_invalid")


async def test_a_stale_signature_is_refused_even_when_it_is_right(api: Api) -> None:
    body = shop_event("customer.linked", {"customer_id": "C1", "phone": PHONE})

    stale = await send(api, body, shop_headers(body, timestamp=int(time.time()) - 301))

    assert (stale.status_code, stale.json()["code"]) == (401, "signature_expired")


async def test_a_missing_or_malformed_signature_header_is_refused(api: Api) -> None:
    body = shop_event("customer.linked", {"customer_id": "C1", "phone": PHONE})

    missing = await api.client.post(
        "/v1/webhooks/shop", content=body, headers={"content-type": "application/json"}
    )
    garbled = await send(api, body, {"Shop-Signature": "sha256=abc"})

    assert (missing.status_code, missing.json()["code"]) == (401, "signature_missing")
    assert (garbled.status_code, garbled.json()["code"]) == (401, "signature_invalid")


async def test_a_forged_request_with_a_bad_body_gets_401_not_a_schema_error(api: Api) -> None:
    forged = await send(api, b'{"nonsense": true}', {"Shop-Signature": "t=1,v1=00"})

    assert forged.status_code == 401


async def test_a_five_star_review_of_an_online_order_earns_the_review_coupon_once(
    api: Api,
) -> None:
    template = await api.admin_post(
        "/v1/admin/coupon-templates",
        {"name": "Thanks for your review", "kind": "fixed", "value": 1000, "valid_days": 30},
    )
    assert template.status_code == 201, template.text
    reward = await api.client.put(
        "/v1/admin/review-reward",
        json={"enabled": True, "min_rating": 5, "template_id": template.json()["id"]},
        headers={**api.admin_headers, "Idempotency-Key": "rr-1"},
    )
    assert reward.status_code == 200, reward.text
    await link(api)
    await pay(api)
    member_id = await member_id_of(api)

    first = await event(
        api,
        "review.posted",
        {"review_id": "RV1", "order_id": "O1", "rating": 5, "customer_id": "C1"},
    )
    second = await event(
        api,
        "review.posted",
        {"review_id": "RV2", "order_id": "O1", "rating": 5, "member_id": member_id},
    )

    assert (first.status_code, second.status_code) == (200, 200), second.text
    coupons = await api.client.get("/v1/me/coupons", headers=api.member_headers(member_id))
    assert [c["title"] for c in coupons.json()["items"]] == ["Thanks for your review"]


async def test_an_online_order_counts_toward_the_members_tier_at_once(api: Api) -> None:
    silver = {
        "code": "silver",
        "name": "Silver",
        "rank": 1,
        "threshold": 20000,
        "earn_multiplier": "1.5",
    }
    member_tier = {"code": "member", "name": "Member", "rank": 0, "threshold": 0}
    policy = await api.client.put(
        "/v1/admin/tiers",
        json={
            "window_days": 365,
            "grace_days": 30,
            "tiers": [{**member_tier, "earn_multiplier": "1"}, silver],
        },
        headers=api.admin_headers,
    )
    assert policy.status_code == 200, policy.text
    await link(api)

    await pay(api)

    tier = await api.client.get("/v1/me/tier", headers=api.member_headers(await member_id_of(api)))
    assert tier.json()["current"]["code"] == "silver"
