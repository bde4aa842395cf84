"""An erased member (issue 16, item 6): nobody finds them, nothing more is done for them, and
their own tokens and sessions end at the moment of the erasure.

What erasure removes and keeps is pinned in test_personal_data.py; the races of an erasure
with a purchase and with feedback over TCP are in tests/e2e/test_erasure_races.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from httpx import Response
from litestar import Litestar

from adapters.system import CryptoRandom
from domain.cards import generate_card_number
from domain.member_privacy import ERASED_TEXT
from tests.api.client import Api, Till, bearer
from tests.api.test_attacks import guarded_routes
from tests.api.test_crm import scheduled
from tests.api.test_member_login import login
from tests.support.webhooks import payment_intent, shop_event, shop_headers, stripe_event
from tests.support.webhooks import stripe_headers as stripe_signed

PHONE = "+8613800138000"
LINES = [{"sku": "TOWEL", "quantity": 2, "unit_price": 12500}]
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
PAYMENT = "pi_3QfR3XLkdIwHu7ix0snN0B15"


async def value(db_url: str, sql: str, *args: Any) -> Any:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


@dataclass
class Erased:
    member_id: str
    card_number: str
    sale_id: str
    card_token: str  # the app's QR code, fetched just before the erasure and still in date
    access_token: str  # from the SMS login, used before the erasure (so the cache holds it)
    refresh_token: str
    till: Till


async def erase(api: Api, member_id: str, key: str = "erase-1") -> None:
    response = await api.client.post(
        f"/v1/admin/members/{member_id}/erase",
        headers={**api.admin_headers, "Idempotency-Key": key},
    )
    assert response.status_code == 200, response.text


async def an_erased_member(api: Api, db_url: str) -> Erased:
    till = await api.open_till()
    member = await till.enrol(PHONE, name="Li Lei", birthday="1990-05-17")
    member_id = member["member_id"]
    sale = await till.sell("R1", LINES, member_id=member_id)
    assert sale.status_code == 201, sale.text
    session = await login(api, db_url, PHONE)
    access = bearer(session["access_token"])
    card_token = await api.client.get("/v1/me/card-token", headers=access)
    assert card_token.status_code == 200, card_token.text
    assert (await api.client.get("/v1/me", headers=access)).status_code == 200
    await erase(api, member_id)
    return Erased(
        member_id,
        member["card_number"],
        sale.json()["sale_id"],
        card_token.json()["card_token"],
        session["access_token"],
        session["refresh_token"],
        till,
    )


def problem(response: Response) -> tuple[int, str]:
    return response.status_code, response.json().get("code")


async def test_the_till_finds_an_erased_member_by_no_means_and_cannot_tell_them_from_a_stranger(
    api: Api, clean_db: str
) -> None:
    erased = await an_erased_member(api, clean_db)
    till = erased.till

    async def lookup(**params: str) -> Response:
        return await api.client.get("/v1/pos/members/lookup", params=params, headers=till.headers())

    by_card = await lookup(card_number=erased.card_number)
    by_card_token = await lookup(card_token=erased.card_token)
    by_phone = await lookup(phone=PHONE)
    stranger = await lookup(card_number=generate_card_number(CryptoRandom()))

    assert problem(stranger) == (404, "member_not_found")
    for answer in (by_card, by_card_token, by_phone):
        assert answer.json() == stranger.json()


async def test_nothing_is_sold_quoted_adjusted_tiered_or_reissued_for_an_erased_member(
    api: Api, clean_db: str
) -> None:
    erased = await an_erased_member(api, clean_db)
    entries = await value(clean_db, "SELECT count(*) FROM points_entries")
    admin = f"/v1/admin/members/{erased.member_id}"

    sale = await erased.till.sell("R2", LINES, member_id=erased.member_id)
    quote = await erased.till.post("/v1/pos/quote", {"member_id": erased.member_id, "lines": LINES})
    adjusted = await api.admin_post(f"{admin}/adjustments", {"points": 50, "reason": "goodwill"})
    tiered = await api.admin_post(f"{admin}/tier", {"tier_code": "member", "reason": "x"})
    new_card = await api.admin_post(f"{admin}/card/replace", {})

    for refused in (sale, quote, adjusted, tiered, new_card):
        assert problem(refused) == (422, "member_erased"), refused.text
    assert await value(clean_db, "SELECT count(*) FROM sales") == 1
    assert await value(clean_db, "SELECT count(*) FROM points_entries") == entries
    assert await value(clean_db, "SELECT count(*) FROM member_cards") == 1
    # The till then sells to the customer as a guest.
    guest = await erased.till.sell("R2", LINES)
    assert guest.status_code == 201, guest.text


async def test_shop_and_stripe_events_naming_an_erased_member_are_refused_and_change_nothing(
    api: Api, clean_db: str
) -> None:
    erased = await an_erased_member(api, clean_db)

    async def shop(event_type: str, data: dict[str, Any]) -> Response:
        body = shop_event(event_type, data)
        return await api.client.post("/v1/webhooks/shop", content=body, headers=shop_headers(body))

    linked = await shop("customer.linked", {"customer_id": "C9", "member_id": erased.member_id})
    paid = await shop(
        "order.paid",
        {
            "order_id": "O1",
            "member_id": erased.member_id,
            "lines": LINES,
            "paid_at": datetime.now(UTC).isoformat(),
        },
    )
    reviewed = await shop(
        "review.posted",
        {"review_id": "RV1", "order_id": "R1", "rating": 5, "member_id": erased.member_id},
    )
    body = stripe_event(
        "payment_intent.succeeded",
        payment_intent(
            "pi_3QfR3XLkdIwHu7ix0snN0B15", 25000, metadata={"member_id": erased.member_id}
        ),
    )
    paid_by_card = await api.client.post(
        "/v1/webhooks/stripe", content=body, headers=stripe_signed(body)
    )

    for refused in (linked, paid, reviewed, paid_by_card):
        assert problem(refused) == (422, "member_erased"), refused.text
    assert await value(clean_db, "SELECT count(*) FROM shop_customers") == 0
    assert await value(clean_db, "SELECT count(*) FROM sales") == 1
    assert await value(clean_db, "SELECT count(*) FROM stripe_payments") == 0


async def test_an_issue_of_coupons_skips_an_erased_member_with_the_reason(
    api: Api, clean_db: str
) -> None:
    erased = await an_erased_member(api, clean_db)
    other = await erased.till.enrol("+8613900139000")
    template = await api.admin_post(
        "/v1/admin/coupon-templates",
        {"name": "Ten off", "kind": "fixed", "value": 1000, "valid_days": 30},
    )

    issued = await api.admin_post(
        "/v1/admin/coupons/issue",
        {
            "template_id": template.json()["id"],
            "member_ids": [erased.member_id, other["member_id"]],
        },
    )

    assert issued.status_code == 201, issued.text
    assert [i["member_id"] for i in issued.json()["issued"]] == [other["member_id"]]
    assert issued.json()["skipped"] == [{"member_id": erased.member_id, "reason": "member_erased"}]


async def test_every_member_route_refuses_an_erased_members_token_from_the_moment_of_erasure(
    api: Api, app: Litestar, clean_db: str
) -> None:
    erased = await an_erased_member(api, clean_db)
    # Minted before the erasure too, by another path than the SMS login.
    tokens = {
        "login": bearer(erased.access_token),
        "minted": api.member_headers(erased.member_id),
    }
    answered: list[tuple[str, str, str, tuple[int, str]]] = []

    for name, headers in tokens.items():
        for method, path in guarded_routes(app, "/v1/me"):
            body = {"kind": "praise", "text": "still here?"} if method == "POST" else None
            response = await api.client.request(
                method, path, json=body, headers={**headers, "Idempotency-Key": "late"}
            )
            if problem(response) != (401, "unauthenticated"):
                answered.append((name, method, path, problem(response)))
    refreshed = await api.client.post(
        "/v1/auth/refresh", json={"refresh_token": erased.refresh_token}
    )

    assert answered == []
    assert problem(refreshed) == (401, "invalid_refresh_token")
    assert await value(clean_db, "SELECT count(*) FROM refresh_tokens") == 0
    assert await value(clean_db, "SELECT count(*) FROM feedback") == 0


async def test_a_member_whose_record_is_gone_keeps_the_answers_of_an_unknown_member(
    api: Api,
) -> None:
    # Not erased, never enrolled: the erasure check must not turn these into 401s.
    nobody = api.member_headers(UNKNOWN_ID)

    me = await api.client.get("/v1/me", headers=nobody)
    coupons = await api.client.get("/v1/me/coupons", headers=nobody)

    assert problem(me) == (404, "member_not_found")
    assert coupons.status_code == 200
    assert coupons.json()["items"] == []


async def test_no_follow_up_call_is_scheduled_for_an_erased_members_purchase(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member = await till.enrol(PHONE)
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    sale = await till.sell("R1", LINES, member_id=member["member_id"], occurred_at=week_ago)
    assert sale.status_code == 201, sale.text
    await erase(api, member["member_id"])

    assert await scheduled(clean_db) == 0
    assert await value(clean_db, "SELECT count(*) FROM follow_ups") == 0


async def test_a_follow_up_call_due_before_the_erasure_is_dropped_and_cannot_be_recorded(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member = await till.enrol(PHONE)
    for receipt, days in (("R1", 7), ("R2", 8)):
        at = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        sale = await till.sell(receipt, LINES, member_id=member["member_id"], occurred_at=at)
        assert sale.status_code == 201, sale.text
    assert await scheduled(clean_db) == 2
    calls = await api.client.get("/v1/admin/follow-ups", headers=api.admin_headers)
    reached, pending = (item["id"] for item in calls.json()["items"])
    called = await api.client.patch(
        f"/v1/admin/follow-ups/{reached}",
        json={"status": "reached", "satisfaction": 2, "outcome": "towels too thin"},
        headers=api.admin_headers,
    )
    assert called.status_code == 200, called.text
    await erase(api, member["member_id"])

    listed = await api.client.get("/v1/admin/follow-ups", headers=api.admin_headers)
    corrected = await api.client.patch(
        f"/v1/admin/follow-ups/{reached}",
        json={"status": "reached", "satisfaction": 1, "outcome": "call Li Lei back on 13800138000"},
        headers=api.admin_headers,
    )

    # Nobody is left to call; the call made stays, its words erased.
    assert [item["id"] for item in listed.json()["items"]] == [reached]
    assert problem(corrected) == (422, "member_erased"), corrected.text
    texts = await value(clean_db, "SELECT array_agg(text) FROM feedback")
    assert texts == [ERASED_TEXT]
    assert pending not in {item["id"] for item in listed.json()["items"]}


async def test_a_purchase_made_before_the_erasure_can_still_be_refunded(
    api: Api, clean_db: str
) -> None:
    erased = await an_erased_member(api, clean_db)

    refund = await erased.till.refund(erased.sale_id, {"refund_id": "F1", "amount": 25000})

    assert refund.status_code == 201, refund.text
    assert refund.json()["points_reversed"] == 250
    overview = await api.client.get(
        f"/v1/admin/members/{erased.member_id}", headers=api.admin_headers
    )
    assert overview.status_code == 200
    assert overview.json()["points"]["available"] == 0
