"""Attacks (issue #8, item 4): whoever is not entitled gets 401 or 403, on every route.

Token forgeries one by one (alg none, another secret, expired, not yet valid, issuer, audience)
are in test_auth.py, a till refunding another store's sale in
test_refunds.py::test_another_stores_sale_cannot_be_refunded, forged and stale webhook
signatures in test_shop_webhooks.py and test_stripe_webhooks.py. This module checks the
routes exhaustively, taken from the application itself, so a route added later is covered
without anyone remembering to list it.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar

from domain.coupon_codes import check_symbol, display
from tests.api.client import Api, bearer
from tests.support.webhooks import shop_event, shop_headers

ANY_ID = "00000000-0000-4000-8000-000000000000"
# A value of each path parameter type, so the route matches and its guard is what answers.
FILLERS = {"uuid": ANY_ID, "int": "1"}
LINES = [{"sku": "SHEET", "quantity": 1, "unit_price": 25000}]


def items(body: Any) -> list[Any]:
    return list(body["items"] if isinstance(body, dict) else body)


def guarded_routes(app: Litestar, prefix: str) -> list[tuple[str, str]]:
    """(method, concrete path) of every route under ``prefix``, path parameters filled in."""
    routes = []
    for route in app.routes:
        if not route.path.startswith(prefix):
            continue
        path = re.sub(r"\{(\w+):(\w+)\}", lambda m: FILLERS.get(m.group(2), "x"), route.path)
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            routes.append((method, path))
    return routes


def test_every_area_has_routes_to_check(app: Litestar) -> None:
    assert len(guarded_routes(app, "/v1/admin")) >= 25
    assert len(guarded_routes(app, "/v1/pos")) >= 5
    assert len(guarded_routes(app, "/v1/me")) >= 7


@pytest.mark.parametrize(
    ("prefix", "wrong_roles"),
    [
        ("/v1/admin", ["pos", "member"]),
        ("/v1/pos", ["admin", "member"]),
        ("/v1/me", ["admin", "pos"]),
    ],
)
async def test_every_route_of_an_area_is_401_without_a_token_and_403_for_other_roles(
    api: Api, app: Litestar, prefix: str, wrong_roles: list[str]
) -> None:
    till = await api.open_till()
    member = await till.enrol()
    tokens = {
        "admin": api.admin_headers,
        "pos": bearer(till.token),
        "member": api.member_headers(member["member_id"]),
    }
    refused: list[tuple[str, str, str, int]] = []
    for method, path in guarded_routes(app, prefix):
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        anonymous = await api.client.request(
            method, path, json=body, headers={"Idempotency-Key": "attack"}
        )
        if anonymous.status_code != 401 or anonymous.json()["code"] != "unauthenticated":
            refused.append((method, path, "anonymous", anonymous.status_code))
        for role in wrong_roles:
            response = await api.client.request(
                method, path, json=body, headers={**tokens[role], "Idempotency-Key": "attack"}
            )
            if response.status_code != 403 or response.json()["code"] != "forbidden":
                refused.append((method, path, role, response.status_code))

    assert refused == []


def test_the_only_member_route_naming_a_resource_by_id_is_playing_a_chance(
    app: Litestar,
) -> None:
    # Everything else under /v1/me is the caller's own by construction (the member id comes
    # from the token). A new route with an id must get its own ownership test below. The
    # catalogue's reward id names no member's resource: a reward is on offer to every member
    # its rules admit (tests/app/test_reward_catalogue.py), and what is redeemed is charged
    # to the token's member.
    with_ids = {
        route.path for route in app.routes if route.path.startswith("/v1/me") and "{" in route.path
    }

    assert with_ids == {
        "/v1/me/draws/{chance_id:uuid}/play",
        "/v1/me/rewards/{reward_id:uuid}/redeem",
    }


async def test_a_member_cannot_play_see_or_list_another_members_chances_coupons_or_ledger(
    api: Api,
) -> None:
    till = await api.open_till()
    alice = await till.enrol("+8613800138001")
    bob = await till.enrol("+8613800138002")
    template = await api.admin_post(
        "/v1/admin/coupon-templates",
        {"name": "Ten off", "kind": "fixed", "value": 1000, "valid_days": 30},
    )
    issued = await api.admin_post(
        "/v1/admin/coupons/issue",
        {"template_id": template.json()["id"], "member_ids": [alice["member_id"]]},
    )
    assert issued.status_code == 201, issued.text
    now = datetime.now(UTC)
    campaign = await api.admin_post(
        "/v1/admin/draw-campaigns",
        {
            "name": "Spend and draw",
            "threshold": 10000,
            "chances": "one",
            "chance_valid_days": 7,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "prizes": [{"code": "NONE", "name": "Thanks", "weight": 1}],
        },
    )
    assert campaign.status_code == 201, campaign.text
    sale = await till.sell("R1", LINES, member_id=alice["member_id"])
    assert sale.json()["draw_chances"] == 1, sale.text
    as_alice = api.member_headers(alice["member_id"])
    as_bob = api.member_headers(bob["member_id"])
    chance_id = (await api.client.get("/v1/me/draws", headers=as_alice)).json()["items"][0][
        "chance_id"
    ]

    stolen = await api.client.post(
        f"/v1/me/draws/{chance_id}/play", headers={**as_bob, "Idempotency-Key": "steal"}
    )

    assert (stolen.status_code, stolen.json()["code"]) == (403, "forbidden")
    for path in ("/v1/me/draws", "/v1/me/coupons", "/v1/me/ledger", "/v1/me/feedback"):
        bobs = await api.client.get(path, headers=as_bob)
        alices = await api.client.get(path, headers=as_alice)
        assert bobs.status_code == 200, path
        assert items(bobs.json()) == [], path
        assert alice["member_id"] not in bobs.text, path
        if path != "/v1/me/feedback":
            assert items(alices.json()) != [], path
    me = await api.client.get("/v1/me", headers=as_bob)
    assert me.json()["member_id"] == bob["member_id"]
    played = await api.client.post(
        f"/v1/me/draws/{chance_id}/play", headers={**as_alice, "Idempotency-Key": "mine"}
    )
    assert played.status_code == 200, played.text


async def test_a_member_token_naming_an_unknown_member_reads_nothing(api: Api) -> None:
    ghost = api.member_headers(ANY_ID)

    me = await api.client.get("/v1/me", headers=ghost)

    assert me.status_code == 404
    assert me.json()["code"] == "member_not_found"


async def test_a_replayed_webhook_is_applied_once_and_its_signature_fits_no_other_body(
    api: Api,
) -> None:
    body = shop_event("customer.linked", {"customer_id": "C1", "phone": "+8613800138000"})
    headers = shop_headers(body)
    tampered = body.replace(b"C1", b"C2")

    first = await api.client.post("/v1/webhooks/shop", content=body, headers=headers)
    replayed = await api.client.post("/v1/webhooks/shop", content=body, headers=headers)
    grafted = await api.client.post("/v1/webhooks/shop", content=tampered, headers=headers)

    assert (first.json()["outcome"], replayed.json()["outcome"]) == ("applied", "duplicate")
    assert (grafted.status_code, grafted.json()["code"]) == (401, "signature_invalid")


async def test_a_captured_webhook_replayed_after_five_minutes_is_refused(api: Api) -> None:
    body = shop_event("customer.linked", {"customer_id": "C1", "phone": "+8613800138000"})
    captured = shop_headers(body, timestamp=int(time.time()) - 301)

    replayed = await api.client.post("/v1/webhooks/shop", content=body, headers=captured)

    assert (replayed.status_code, replayed.json()["code"]) == (401, "signature_expired")


@pytest.mark.parametrize(
    "path",
    ["/v1/webhooks/shop", "/v1/webhooks/stripe", "/v1/admin/stores", "/v1/auth/terminal-token"],
)
async def test_a_body_over_the_size_limit_is_413_on_every_kind_of_route(
    api: Api, path: str
) -> None:
    body = b'{"x": "' + b"a" * 1_100_000 + b'"}'
    headers: dict[str, Any] = {"content-type": "application/json", "Idempotency-Key": "big"}
    if path.startswith("/v1/admin"):
        headers.update(api.admin_headers)
    if path.endswith("/shop"):
        headers.update(shop_headers(body))

    response = await api.client.post(path, content=body, headers=headers)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_guessed_coupon_codes_all_get_the_one_uniform_answer(api: Api) -> None:
    till = await api.open_till()
    alice = await till.enrol("+8613800138001")
    bob = await till.enrol("+8613800138002")
    template = await api.admin_post(
        "/v1/admin/coupon-templates",
        {"name": "Ten off", "kind": "fixed", "value": 1000, "valid_days": 30},
    )
    issued = await api.admin_post(
        "/v1/admin/coupons/issue",
        {"template_id": template.json()["id"], "member_ids": [alice["member_id"]]},
    )
    alices_code = issued.json()["issued"][0]["code"]
    # Well-formed (right check symbol) but never issued, and another member's real one.
    guessed = "ABCDEFGHJKMNPQ"
    guesses = [display(guessed + check_symbol(guessed)), alices_code]

    sales = [
        await till.sell(f"R{n}", LINES, member_id=bob["member_id"], coupon_codes=[code])
        for n, code in enumerate(guesses)
    ]
    quotes = [
        await till.post(
            "/v1/pos/quote",
            {"member_id": bob["member_id"], "lines": LINES, "coupon_codes": [code]},
        )
        for code in guesses
    ]

    assert {(s.status_code, s.json()["code"]) for s in sales} == {(422, "coupon_not_redeemable")}
    assert len({s.json()["detail"] for s in sales}) == 1
    reasons = {q.json()["rejected_coupons"][0]["code_reason"] for q in quotes}
    assert reasons == {"not_redeemable"}
