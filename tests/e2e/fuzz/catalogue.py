"""One valid request per operation of the contract, made fresh each time (new receipt ids,
phones, codes; an unplayed chance, an unanswered follow-up), so that a mutation of it reaches
as deep into the service as a valid request would: the decoders, the rules, the database."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.e2e.fuzz.wire import Request
from tests.e2e.fuzz.world import World, cli, expect, fresh_phone, key, now, unique
from tests.support.webhooks import charge, dispute, payment_intent, stripe_event

Make = Callable[[World], Request]
CATALOGUE: dict[str, Make] = {}


def makes(operation: str) -> Callable[[Make], Make]:
    def register(make: Make) -> Make:
        assert operation not in CATALOGUE, operation
        CATALOGUE[operation] = make
        return make

    return register


def admin(w: World, operation: str, body: Any = None, **parts: Any) -> Request:
    headers: dict[str, str | bytes] = {**w.admin}
    if not operation.startswith("GET"):
        headers["Idempotency-Key"] = key()
    request = Request(operation, headers=headers, **parts)
    return request if body is None else request.with_(body=body)


def pos(w: World, operation: str, body: Any = None, **parts: Any) -> Request:
    headers: dict[str, str | bytes] = {**w.pos}
    if not operation.startswith("GET"):
        headers["Idempotency-Key"] = key()
    request = Request(operation, headers=headers, **parts)
    return request if body is None else request.with_(body=body)


def member(w: World, operation: str, body: Any = None, **parts: Any) -> Request:
    assert w.member is not None
    headers: dict[str, str | bytes] = {**w.member.auth}
    if operation.startswith(("POST /v1/me/draws", "POST /v1/me/rewards", "POST /v1/me/sale-")):
        headers["Idempotency-Key"] = key()
    request = Request(operation, headers=headers, **parts)
    return request if body is None else request.with_(body=body)


def sale_body(w: World) -> dict[str, Any]:
    assert w.member is not None
    return {
        "receipt_id": unique("R"),
        "member_id": w.member.member_id,
        "occurred_at": (now() - timedelta(minutes=5)).isoformat(),
        "lines": [
            {"sku": "TOWEL", "category": "bath", "quantity": 2, "unit_price": 12_500},
            {"sku": "SOAP", "quantity": 1, "unit_price": 900},
        ],
        "coupon_codes": [],
        "redeem_points": 10,
    }


def template_body() -> dict[str, Any]:
    return {
        "name": unique("Template"),
        "kind": "percent",
        "value": 10,
        "min_spend": 1000,
        "valid_from": now().isoformat(),
        "valid_until": (now() + timedelta(days=30)).isoformat(),
        "per_member_limit": 3,
        "total_limit": 1000,
        "channels": ["pos", "web"],
        "stackable": True,
        "categories": ["bath"],
    }


def tiers_body() -> dict[str, Any]:
    return {
        "window_days": 365,
        "grace_days": 30,
        "tiers": [
            {"code": "member", "name": "Member", "rank": 0, "threshold": 0, "earn_multiplier": "1"},
            {
                "code": "silver",
                "name": "Silver",
                "rank": 1,
                "threshold": 5_000_000,
                "earn_multiplier": "1.25",
            },
        ],
    }


# -- the world's own reads and writes -------------------------------------------------------

for _path in (
    "/v1/admin/birthday-reward",
    "/v1/admin/program",
    "/v1/admin/review-reward",
    "/v1/admin/tiers",
):
    CATALOGUE[f"GET {_path}"] = lambda w, _p=_path: admin(w, f"GET {_p}")

makes("GET /health")(lambda w: Request("GET /health"))
makes("GET /v1/admin/coupon-templates")(
    lambda w: admin(w, "GET /v1/admin/coupon-templates", query={"limit": "5"})
)
makes("GET /v1/admin/draw-campaigns")(
    lambda w: admin(w, "GET /v1/admin/draw-campaigns", query={"limit": "5"})
)
makes("GET /v1/admin/feedback")(
    lambda w: admin(
        w, "GET /v1/admin/feedback", query={"status": "new", "kind": "suggestion", "limit": "5"}
    )
)
makes("GET /v1/admin/follow-ups")(
    lambda w: admin(
        w,
        "GET /v1/admin/follow-ups",
        query={"status": "pending", "due_by": now().date().isoformat(), "limit": "5"},
    )
)
makes("GET /v1/admin/reports/churn-risk")(
    lambda w: admin(
        w,
        "GET /v1/admin/reports/churn-risk",
        query={"within_days": "30", "window_days": "365", "limit": "5"},
    )
)
for _report in ("lifecycle", "points-liability", "regions"):
    CATALOGUE[f"GET /v1/admin/reports/{_report}"] = lambda w, _r=_report: admin(
        w,
        f"GET /v1/admin/reports/{_r}",
        query={
            "from": (now().date() - timedelta(days=30)).isoformat(),
            "to": (now().date() + timedelta(days=1)).isoformat(),
        },
    )
makes("GET /v1/admin/reports/rfm")(
    lambda w: admin(
        w,
        "GET /v1/admin/reports/rfm",
        query={"as_of": now().date().isoformat(), "window_days": "365"},
    )
)
makes("GET /v1/admin/segments/preview")(
    lambda w: admin(
        w,
        "GET /v1/admin/segments/preview",
        query={"rfm": "champions", "as_of": now().date().isoformat(), "window_days": "365"},
    )
)

# The CSV downloads take the filters of their lists.
_DAY = {"from": "2026-01-01", "to": "2026-02-01"}
makes("GET /v1/admin/audit-log")(
    lambda w: admin(
        w,
        "GET /v1/admin/audit-log",
        query={"actor": "admin:fuzz", "action": "program.updated", "entity": "program",
               **_DAY, "limit": "5"},
    )
)  # fmt: skip
makes("GET /v1/admin/audit-log/csv")(
    lambda w: admin(w, "GET /v1/admin/audit-log/csv", query={"entity": "member", **_DAY})
)
makes("GET /v1/admin/feedback/csv")(
    lambda w: admin(w, "GET /v1/admin/feedback/csv", query={"status": "new"})
)
makes("GET /v1/admin/follow-ups/csv")(
    lambda w: admin(w, "GET /v1/admin/follow-ups/csv", query={"due_by": now().date().isoformat()})
)
makes("GET /v1/admin/reports/churn-risk/csv")(
    lambda w: admin(w, "GET /v1/admin/reports/churn-risk/csv", query={"within_days": "30"})
)
makes("GET /v1/admin/reports/rfm/members/csv")(
    lambda w: admin(
        w,
        "GET /v1/admin/reports/rfm/members/csv",
        query={"as_of": now().date().isoformat(), "segment": "champions"},
    )
)
makes("GET /v1/admin/segments/preview/csv")(
    lambda w: admin(w, "GET /v1/admin/segments/preview/csv", query={"lifecycle": "dormant"})
)


@makes("PUT /v1/admin/birthday-reward")
def _birthday(w: World) -> Request:
    body = {"enabled": True, "days_ahead": 7, "template_id": w.template_id}
    return admin(w, "PUT /v1/admin/birthday-reward", body)


@makes("PUT /v1/admin/review-reward")
def _review(w: World) -> Request:
    body = {"enabled": True, "min_rating": 4, "template_id": w.template_id}
    return admin(w, "PUT /v1/admin/review-reward", body)


@makes("POST /v1/admin/coupon-templates")
def _new_template(w: World) -> Request:
    return admin(w, "POST /v1/admin/coupon-templates", template_body())


@makes("GET /v1/admin/coupon-templates/{template_id}")
def _get_template(w: World) -> Request:
    return admin(
        w,
        "GET /v1/admin/coupon-templates/{template_id}",
        path_params={"template_id": w.template_id},
    )


@makes("PUT /v1/admin/coupon-templates/{template_id}")
def _put_template(w: World) -> Request:
    return admin(
        w,
        "PUT /v1/admin/coupon-templates/{template_id}",
        {**template_body(), "name": "Fuzz 10 off"},
        path_params={"template_id": w.template_id},
    )


@makes("POST /v1/admin/coupons/issue")
def _issue(w: World) -> Request:
    assert w.member is not None
    body = {
        "template_id": w.template_id,
        "member_ids": [w.member.member_id],
        "campaign_key": unique("campaign"),
    }
    return admin(w, "POST /v1/admin/coupons/issue", body)


@makes("POST /v1/admin/draw-campaigns")
def _new_campaign(w: World) -> Request:
    body = {
        "name": unique("Draw"),
        "threshold": 50_000,
        "chances": "one",
        "chance_valid_days": 7,
        "starts_at": (now() + timedelta(days=1)).isoformat(),
        "ends_at": (now() + timedelta(days=8)).isoformat(),
        "prizes": [
            {"code": "tv", "name": "A TV", "weight": 1, "template_id": w.template_id, "stock": 1},
            {"code": "mug", "name": "A mug", "weight": 10, "template_id": None, "stock": None},
        ],
    }
    return admin(w, "POST /v1/admin/draw-campaigns", body)


@makes("GET /v1/admin/draw-campaigns/{campaign_id}")
def _get_campaign(w: World) -> Request:
    return admin(
        w,
        "GET /v1/admin/draw-campaigns/{campaign_id}",
        path_params={"campaign_id": w.campaign_id},
    )


@makes("GET /v1/draw-campaigns/{campaign_id}/odds")
def _odds(w: World) -> Request:
    return Request(
        "GET /v1/draw-campaigns/{campaign_id}/odds", path_params={"campaign_id": w.campaign_id}
    )


@makes("PATCH /v1/admin/feedback/{feedback_id}")
def _patch_feedback(w: World) -> Request:
    return admin(
        w,
        "PATCH /v1/admin/feedback/{feedback_id}",
        {"status": "acknowledged", "note": "Called back"},
        path_params={"feedback_id": w.feedback()},
    )


@makes("PATCH /v1/admin/follow-ups/{follow_up_id}")
def _patch_follow_up(w: World) -> Request:
    return admin(
        w,
        "PATCH /v1/admin/follow-ups/{follow_up_id}",
        {"status": "reached", "satisfaction": 4, "outcome": "Happy with the towels"},
        path_params={"follow_up_id": str(w.follow_up())},
    )


def _member_path(w: World, operation: str, body: Any = None) -> Request:
    assert w.member is not None
    return admin(w, operation, body, path_params={"member_id": w.member.member_id})


makes("GET /v1/admin/members/{member_id}")(
    lambda w: _member_path(w, "GET /v1/admin/members/{member_id}")
)
makes("GET /v1/admin/members/{member_id}/export")(
    lambda w: _member_path(w, "GET /v1/admin/members/{member_id}/export")
)
makes("POST /v1/admin/members/{member_id}/adjustments")(
    lambda w: _member_path(
        w,
        "POST /v1/admin/members/{member_id}/adjustments",
        {"points": 5, "reason": "Goodwill for a late delivery"},
    )
)
makes("POST /v1/admin/members/{member_id}/card/replace")(
    lambda w: _member_path(w, "POST /v1/admin/members/{member_id}/card/replace")
)
makes("POST /v1/admin/members/{member_id}/tier")(
    lambda w: _member_path(
        w,
        "POST /v1/admin/members/{member_id}/tier",
        {
            "tier_code": "member",
            "reason": "Service recovery",
            "until": (now() + timedelta(days=30)).isoformat(),
        },
    )
)


makes("POST /v1/admin/members/{member_id}/birthday")(
    lambda w: _member_path(
        w,
        "POST /v1/admin/members/{member_id}/birthday",
        {"birthday": "1990-05-17", "reason": "ID card checked at the desk"},
    )
)
makes("GET /v1/admin/members/{member_id}/consents")(
    lambda w: admin(
        w,
        "GET /v1/admin/members/{member_id}/consents",
        path_params={"member_id": w.member.member_id if w.member else ""},
        query={"limit": "5"},
    )
)


@makes("POST /v1/admin/members/{member_id}/erase")
def _erase(w: World) -> Request:
    # Erasure uses its member up: a new one each time.
    return admin(
        w,
        "POST /v1/admin/members/{member_id}/erase",
        path_params={"member_id": w.enrol().member_id},
    )


@makes("PUT /v1/admin/program")
def _program(w: World) -> Request:
    body = {
        "currency": "CNY",
        "time_zone": "Asia/Shanghai",
        "earn_rate": "1",
        "point_value": "1",
        "points_expiry": {"kind": "never", "count": None},
        "pending_days": 14,
        "crm": {"new_days": 30, "dormant_days": 90, "churned_days": 180, "follow_up_days": 1},
    }
    return admin(w, "PUT /v1/admin/program", body)


@makes("PATCH /v1/admin/program")
def _patch_program(w: World) -> Request:
    request = admin(w, "PATCH /v1/admin/program", {"earn_rate": "1", "crm": {"new_days": 30}})
    return request.with_(
        headers={**request.headers, "Content-Type": "application/merge-patch+json"}
    )


@makes("PATCH /v1/admin/tiers")
def _patch_tiers(w: World) -> Request:
    request = admin(w, "PATCH /v1/admin/tiers", {"grace_days": 30})
    return request.with_(
        headers={**request.headers, "Content-Type": "application/merge-patch+json"}
    )


makes("POST /v1/admin/stores")(
    lambda w: admin(w, "POST /v1/admin/stores", {"code": unique("store"), "name": "Riverside"})
)
makes("POST /v1/admin/terminals")(
    lambda w: admin(w, "POST /v1/admin/terminals", {"store_id": w.store_id, "code": unique("till")})
)
makes("PUT /v1/admin/tiers")(lambda w: admin(w, "PUT /v1/admin/tiers", tiers_body()))
makes("POST /v1/admin/tiers/simulate")(
    lambda w: admin(w, "POST /v1/admin/tiers/simulate", tiers_body())
)

# -- message templates -----------------------------------------------------------------------

_TEMPLATE = {"kind": "birthday", "language": "en"}
makes("GET /v1/admin/message-templates")(lambda w: admin(w, "GET /v1/admin/message-templates"))
makes("GET /v1/admin/message-templates/{kind}/{language}")(
    lambda w: admin(w, "GET /v1/admin/message-templates/{kind}/{language}", path_params=_TEMPLATE)
)
makes("PUT /v1/admin/message-templates/{kind}/{language}")(
    lambda w: admin(
        w,
        "PUT /v1/admin/message-templates/{kind}/{language}",
        {"subject": "Happy birthday", "body": "Happy birthday, {{ name }}: {{ title }}"},
        path_params=_TEMPLATE,
    )
)
makes("DELETE /v1/admin/message-templates/{kind}/{language}")(
    lambda w: admin(
        w, "DELETE /v1/admin/message-templates/{kind}/{language}", path_params=_TEMPLATE
    )
)
makes("POST /v1/admin/message-templates/{kind}/{language}/preview")(
    lambda w: admin(
        w,
        "POST /v1/admin/message-templates/{kind}/{language}/preview",
        {"body": "{{ title }} until {{ expires_at|date }}"},
        path_params=_TEMPLATE,
    )
)


def earning_rule_body() -> dict[str, Any]:
    # Its window is long past: the rules the fuzzer makes never change what a sale earns.
    return {
        "name": unique("rule"),
        "effect": {"kind": "multiplier", "value": "2"},
        "conditions": {"categories": ["bedding"], "days_of_week": [6, 7], "hours": [10]},
        "limits": {"per_order": 500, "per_member_day": 1000, "budget": 100000},
        "priority": 3,
        "starts_at": "2001-01-01T00:00:00+00:00",
        "ends_at": "2001-01-02T00:00:00+00:00",
    }


makes("POST /v1/admin/earning-rules")(
    lambda w: admin(w, "POST /v1/admin/earning-rules", earning_rule_body())
)
makes("GET /v1/admin/earning-rules")(
    lambda w: admin(w, "GET /v1/admin/earning-rules", query={"limit": "5"})
)
makes("POST /v1/admin/earning-rules/simulate")(
    lambda w: admin(
        w,
        "POST /v1/admin/earning-rules/simulate",
        {
            "rule": earning_rule_body(),
            "from": (now() - timedelta(days=30)).isoformat(),
            "to": now().isoformat(),
        },
    )
)


def _fresh_rule(w: World) -> str:
    rule_id: str = expect(w.admin_post("/v1/admin/earning-rules", earning_rule_body()), 201)["id"]
    return rule_id


def _on_fresh_rule(operation: str, body: Any = None) -> Make:
    def make(w: World) -> Request:
        return admin(w, operation, body, path_params={"rule_id": _fresh_rule(w)})

    return make


for _operation in (
    "GET /v1/admin/earning-rules/{rule_id}",
    "GET /v1/admin/earning-rules/{rule_id}/versions",
):
    makes(_operation)(_on_fresh_rule(_operation))
makes("PUT /v1/admin/earning-rules/{rule_id}")(
    lambda w: admin(
        w,
        "PUT /v1/admin/earning-rules/{rule_id}",
        earning_rule_body(),
        path_params={"rule_id": _fresh_rule(w)},
    )
)
makes("POST /v1/admin/earning-rules/{rule_id}/schedule")(
    lambda w: admin(
        w,
        "POST /v1/admin/earning-rules/{rule_id}/schedule",
        {"starts_at": "2002-01-01T00:00:00+00:00", "ends_at": "2002-01-02T00:00:00+00:00"},
        path_params={"rule_id": _fresh_rule(w)},
    )
)
for _operation in (
    "POST /v1/admin/earning-rules/{rule_id}/pause",
    "POST /v1/admin/earning-rules/{rule_id}/resume",
    "POST /v1/admin/earning-rules/{rule_id}/end",
):
    makes(_operation)(_on_fresh_rule(_operation, {"version": 1}))

# -- auth ----------------------------------------------------------------------------------

makes("POST /v1/auth/otp")(lambda w: Request("POST /v1/auth/otp", body={"phone": fresh_phone()}))
makes("POST /v1/auth/otp/verify")(
    lambda w: Request("POST /v1/auth/otp/verify", body={"phone": fresh_phone(), "code": "123456"})
)
makes("POST /v1/auth/refresh")(
    lambda w: Request("POST /v1/auth/refresh", body={"refresh_token": unique("refresh")})
)
makes("POST /v1/auth/logout")(
    lambda w: Request("POST /v1/auth/logout", body={"refresh_token": unique("refresh")})
)
makes("POST /v1/auth/terminal-token")(
    lambda w: Request(
        "POST /v1/auth/terminal-token",
        body={"terminal_id": w.terminal_id, "secret": w.terminal_secret},
    )
)

# -- the member app ---------------------------------------------------------------------------

for _path in ("/v1/me", "/v1/me/card-token", "/v1/me/feedback", "/v1/me/tier"):
    CATALOGUE[f"GET {_path}"] = lambda w, _p=_path: member(w, f"GET {_p}")
makes("GET /v1/me/coupons")(
    lambda w: member(w, "GET /v1/me/coupons", query={"status": "available", "limit": "5"})
)
makes("GET /v1/me/draws")(
    lambda w: member(w, "GET /v1/me/draws", query={"limit": "5", "status": "played"})
)
makes("GET /v1/me/ledger")(lambda w: member(w, "GET /v1/me/ledger", query={"limit": "5"}))
makes("POST /v1/me/draws/{chance_id}/play")(
    lambda w: member(w, "POST /v1/me/draws/{chance_id}/play", path_params={"chance_id": w.chance()})
)
makes("PATCH /v1/me")(
    lambda w: member(
        w,
        "PATCH /v1/me",
        {
            "name": "Li Wei",
            "email": "li.wei@example.com",
            "preferred_language": "zh-CN",
            "marketing_consent": {"sms": True, "email": False},
        },
    )
)
makes("POST /v1/me/feedback")(
    lambda w: member(
        w,
        "POST /v1/me/feedback",
        {"kind": "complaint", "text": "The till was slow", "order_ref": unique("R")},
    )
)

# -- the till ---------------------------------------------------------------------------------

makes("POST /v1/pos/members")(
    lambda w: pos(
        w,
        "POST /v1/pos/members",
        {
            "phone": fresh_phone(),
            "name": "Li Lei",
            "email": f"{unique('li')}@example.com",
            "birthday": "1990-02-28",
        },
    )
)


@makes("GET /v1/pos/members/lookup")
def _lookup(w: World) -> Request:
    assert w.member is not None
    return pos(w, "GET /v1/pos/members/lookup", query={"card_number": w.member.card_number})


@makes("POST /v1/pos/quote")
def _quote(w: World) -> Request:
    body = sale_body(w)
    body.pop("receipt_id")
    return pos(w, "POST /v1/pos/quote", body)


makes("POST /v1/pos/sales")(lambda w: pos(w, "POST /v1/pos/sales", sale_body(w)))
makes("GET /v1/pos/sales")(
    lambda w: pos(w, "GET /v1/pos/sales", query={"receipt_id": w.big_sale_receipt})
)
makes("POST /v1/pos/sales/{sale_id}/refunds")(
    lambda w: pos(
        w,
        "POST /v1/pos/sales/{sale_id}/refunds",
        {"refund_id": unique("F"), "amount": 1},
        path_params={"sale_id": w.big_sale_id},
    )
)

# -- webhooks, signed with the served process's own secrets --------------------------------


def shop_events(w: World) -> list[dict[str, Any]]:
    assert w.member is not None
    order = unique("O")
    return [
        {"type": "customer.linked", "data": {"customer_id": unique("C"), "phone": fresh_phone()}},
        {
            "type": "order.paid",
            "data": {
                "order_id": order,
                "customer_id": w.shop_customer,
                "lines": [{"sku": "WEB", "category": "bath", "quantity": 1, "unit_price": 9_900}],
                "coupon_codes": [],
                "redeem_points": 0,
                "paid_at": now().isoformat(),
            },
        },
        {"type": "order.completed", "data": {"order_id": w.shop_order}},
        {
            "type": "order.refunded",
            "data": {"order_id": w.shop_order, "refund_id": unique("F"), "amount": 1},
        },
        {
            "type": "review.posted",
            "data": {
                "review_id": unique("rev"),
                "order_id": w.shop_order,
                "rating": 5,
                "member_id": w.member.member_id,
            },
        },
    ]


def shop_request(w: World, event: dict[str, Any]) -> Request:
    body = {
        "id": unique("evt"),
        "type": event["type"],
        "created_at": now().isoformat(),
        "data": event["data"],
    }
    return Request("POST /v1/webhooks/shop", body=body, sign=w.shop_signed)


def stripe_objects(w: World) -> list[tuple[str, dict[str, Any]]]:
    assert w.member is not None
    pi = f"pi_{unique('fz').replace('-', '')}"
    return [
        (
            "payment_intent.succeeded",
            payment_intent(pi, 12_345, metadata={"member_id": w.member.member_id}),
        ),
        ("charge.refunded", charge(w.payment_intent_id, 500_000, 100)),
        ("charge.dispute.created", dispute(w.payment_intent_id, 100)),
        ("charge.dispute.closed", dispute(w.payment_intent_id, 100, status="won")),
        ("customer.created", {"id": "cus_123", "object": "customer"}),
    ]


def stripe_request(w: World, event_type: str, obj: dict[str, Any]) -> Request:
    body = json.loads(stripe_event(event_type, obj, unique("evt")))
    return Request("POST /v1/webhooks/stripe", body=body, sign=w.stripe_signed)


def starts(operation: str) -> list[Make]:
    """The valid requests the fuzzer starts from for ``operation``: one per webhook event
    type, the catalogue's one for any other operation. Built only when drawn."""
    if operation == "POST /v1/webhooks/shop":
        return [lambda w, n=n: shop_request(w, shop_events(w)[n]) for n in range(5)]
    if operation == "POST /v1/webhooks/stripe":
        return [lambda w, n=n: stripe_request(w, *stripe_objects(w)[n]) for n in range(5)]
    if operation == "POST /v1/admin/coupons/issue":
        return [CATALOGUE[operation], _issue_to_a_segment]
    return [CATALOGUE[operation]]


def _issue_to_a_segment(w: World) -> Request:
    body = {
        "template_id": w.template_id,
        "segment": {"rfm": "champions", "as_of": now().date().isoformat(), "window_days": 365},
        "campaign_key": unique("campaign"),
    }
    return admin(w, "POST /v1/admin/coupons/issue", body)


makes("POST /v1/webhooks/shop")(lambda w: shop_request(w, shop_events(w)[1]))
makes("POST /v1/webhooks/stripe")(lambda w: stripe_request(w, *stripe_objects(w)[0]))


# -- the back office's lifecycle controls: each on something fresh, never the world's own ----


def _fresh_terminal(w: World) -> str:
    body = {"store_id": w.store_id, "code": unique("till")}
    terminal_id: str = expect(w.admin_post("/v1/admin/terminals", body), 201)["terminal_id"]
    return terminal_id


def _fresh_template(w: World) -> str:
    body = {**template_body(), "per_member_limit": None, "total_limit": None}
    template_id: str = expect(w.admin_post("/v1/admin/coupon-templates", body), 201)["id"]
    return template_id


def _fresh_coupon(w: World) -> str:
    assert w.member is not None
    body = {"template_id": _fresh_template(w), "member_ids": [w.member.member_id]}
    [issued] = expect(w.admin_post("/v1/admin/coupons/issue", body), 201)["issued"]
    coupon_id: str = issued["coupon_id"]
    return coupon_id


def _campaign_body(starts_in: timedelta, ends_in: timedelta) -> dict[str, Any]:
    return {
        "name": unique("Draw"),
        "threshold": 50_000,
        "chances": "one",
        "chance_valid_days": 7,
        "starts_at": (now() + starts_in).isoformat(),
        "ends_at": (now() + ends_in).isoformat(),
        "prizes": [{"code": "mug", "name": "A mug", "weight": 10, "template_id": None}],
    }


def _fresh_campaign(w: World, starts_in: timedelta) -> str:
    body = _campaign_body(starts_in, timedelta(days=8))
    campaign_id: str = expect(w.admin_post("/v1/admin/draw-campaigns", body), 201)["id"]
    return campaign_id


@makes("GET /v1/admin/members")
def _find_members(w: World) -> Request:
    assert w.member is not None
    return admin(w, "GET /v1/admin/members", query={"phone": w.member.phone, "limit": "5"})


makes("GET /v1/admin/stores")(lambda w: admin(w, "GET /v1/admin/stores", query={"limit": "5"}))
makes("GET /v1/admin/terminals")(
    lambda w: admin(w, "GET /v1/admin/terminals", query={"store_id": w.store_id, "limit": "5"})
)
makes("POST /v1/admin/terminals/{terminal_id}/deactivate")(
    lambda w: admin(
        w,
        "POST /v1/admin/terminals/{terminal_id}/deactivate",
        {"reason": "fuzz"},
        path_params={"terminal_id": _fresh_terminal(w)},
    )
)
makes("POST /v1/admin/terminals/{terminal_id}/secret")(
    lambda w: admin(
        w,
        "POST /v1/admin/terminals/{terminal_id}/secret",
        path_params={"terminal_id": _fresh_terminal(w)},
    )
)
makes("POST /v1/admin/coupon-templates/{template_id}/retire")(
    lambda w: admin(
        w,
        "POST /v1/admin/coupon-templates/{template_id}/retire",
        {"reason": "fuzz"},
        path_params={"template_id": _fresh_template(w)},
    )
)
makes("POST /v1/admin/coupons/{coupon_id}/void")(
    lambda w: admin(
        w,
        "POST /v1/admin/coupons/{coupon_id}/void",
        {"reason": "fuzz"},
        path_params={"coupon_id": _fresh_coupon(w)},
    )
)
makes("GET /v1/admin/coupons/campaign-recipients")(
    lambda w: admin(w, "GET /v1/admin/coupons/campaign-recipients", query={"campaign_key": "fuzz"})
)
makes("GET /v1/admin/coupons/campaign-skips")(
    lambda w: admin(w, "GET /v1/admin/coupons/campaign-skips", query={"campaign_key": "fuzz"})
)
makes("PUT /v1/admin/draw-campaigns/{campaign_id}")(
    lambda w: admin(
        w,
        "PUT /v1/admin/draw-campaigns/{campaign_id}",
        _campaign_body(timedelta(days=2), timedelta(days=9)),
        path_params={"campaign_id": _fresh_campaign(w, timedelta(days=1))},
    )
)
makes("POST /v1/admin/draw-campaigns/{campaign_id}/end")(
    lambda w: admin(
        w,
        "POST /v1/admin/draw-campaigns/{campaign_id}/end",
        {"reason": "fuzz"},
        path_params={"campaign_id": _fresh_campaign(w, -timedelta(hours=1))},
    )
)


# -- outbound webhooks: endpoints of their own; a delivery made once per world ---------------

HOOK_URL = "http://127.0.0.1:9/hooks"  # refused at delivery (or nothing listens): never sent
_DELIVERIES: dict[int, tuple[str, int]] = {}


def _fresh_endpoint(w: World) -> str:
    body = {"url": HOOK_URL, "event_types": ["member.enrolled"], "description": "fuzz"}
    endpoint_id: str = expect(w.admin_post("/v1/admin/webhook-endpoints", body), 201)["endpoint_id"]
    return endpoint_id


def _a_delivery(w: World) -> tuple[str, int]:
    """An endpoint with one delivery: a member enrolled, and the job run once to fan it out."""
    if id(w) not in _DELIVERIES:
        endpoint_id = _fresh_endpoint(w)
        expect(w.pos_post("/v1/pos/members", {"phone": fresh_phone()}), 201)
        cli(w.env, "jobs", "deliver-webhooks")
        page = w.http.get(f"/v1/admin/webhook-endpoints/{endpoint_id}/deliveries", headers=w.admin)
        _DELIVERIES[id(w)] = (endpoint_id, expect(page, 200)["items"][0]["delivery_id"])
    return _DELIVERIES[id(w)]


makes("POST /v1/admin/webhook-endpoints")(
    lambda w: admin(
        w,
        "POST /v1/admin/webhook-endpoints",
        {"url": HOOK_URL, "event_types": ["points.earned", "tier.changed"], "description": "x"},
    )
)
makes("GET /v1/admin/webhook-endpoints")(
    lambda w: admin(w, "GET /v1/admin/webhook-endpoints", query={"limit": "5"})
)
makes("GET /v1/admin/webhook-endpoints/{endpoint_id}")(
    lambda w: admin(
        w,
        "GET /v1/admin/webhook-endpoints/{endpoint_id}",
        path_params={"endpoint_id": _a_delivery(w)[0]},
    )
)
makes("PATCH /v1/admin/webhook-endpoints/{endpoint_id}")(
    lambda w: admin(
        w,
        "PATCH /v1/admin/webhook-endpoints/{endpoint_id}",
        {"description": unique("desc"), "enabled": True},
        path_params={"endpoint_id": _fresh_endpoint(w)},
    )
)
makes("POST /v1/admin/webhook-endpoints/{endpoint_id}/secret")(
    lambda w: admin(
        w,
        "POST /v1/admin/webhook-endpoints/{endpoint_id}/secret",
        {"overlap_seconds": 600},
        path_params={"endpoint_id": _fresh_endpoint(w)},
    )
)
makes("GET /v1/admin/webhook-endpoints/{endpoint_id}/deliveries")(
    lambda w: admin(
        w,
        "GET /v1/admin/webhook-endpoints/{endpoint_id}/deliveries",
        query={"limit": "5"},
        path_params={"endpoint_id": _a_delivery(w)[0]},
    )
)
makes("GET /v1/admin/webhook-endpoints/{endpoint_id}/attempts")(
    lambda w: admin(
        w,
        "GET /v1/admin/webhook-endpoints/{endpoint_id}/attempts",
        query={"limit": "5"},
        path_params={"endpoint_id": _a_delivery(w)[0]},
    )
)
makes("POST /v1/admin/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/resend")(
    lambda w: admin(
        w,
        "POST /v1/admin/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/resend",
        path_params={
            "endpoint_id": _a_delivery(w)[0],
            "delivery_id": str(_a_delivery(w)[1]),
        },
    )
)
makes("POST /v1/admin/webhook-endpoints/{endpoint_id}/resend")(
    lambda w: admin(
        w,
        "POST /v1/admin/webhook-endpoints/{endpoint_id}/resend",
        {"since": (now() - timedelta(hours=1)).isoformat()},
        path_params={"endpoint_id": _a_delivery(w)[0]},
    )
)


# -- the reward catalogue and guest sale claims ------------------------------------------------


def reward_body() -> dict[str, Any]:
    return {
        "name": unique("Mug"),
        "description": "a mug",
        "kind": "item",
        "points_cost": 1,
        "cash_price": 100,
        "stock": None,
        "per_member_limit": None,
        "available_from": (now() - timedelta(days=1)).isoformat(),
        "available_until": (now() + timedelta(days=30)).isoformat(),
        "tiers": [],
    }


def _fresh_reward(w: World) -> str:
    reward_id: str = expect(w.admin_post("/v1/admin/catalogue-rewards", reward_body()), 201)[
        "reward_id"
    ]
    return reward_id


def _fresh_redemption(w: World) -> str:
    assert w.member is not None
    response = w.http.post(
        f"/v1/me/rewards/{_fresh_reward(w)}/redeem",
        headers={**w.member.auth, "Idempotency-Key": key()},
    )
    redemption_id: str = expect(response, 201)["redemption"]["redemption_id"]
    return redemption_id


def _guest_sale(w: World) -> dict[str, Any]:
    body = {
        "receipt_id": unique("G"),
        "lines": [{"sku": "FUZZ", "quantity": 1, "unit_price": 1_000}],
    }
    sale: dict[str, Any] = expect(w.pos_post("/v1/pos/sales", body), 201)
    return sale


makes("POST /v1/admin/catalogue-rewards")(
    lambda w: admin(w, "POST /v1/admin/catalogue-rewards", reward_body())
)
makes("GET /v1/admin/catalogue-rewards")(
    lambda w: admin(w, "GET /v1/admin/catalogue-rewards", query={"limit": "5"})
)
makes("GET /v1/admin/catalogue-rewards/{reward_id}")(
    lambda w: admin(
        w,
        "GET /v1/admin/catalogue-rewards/{reward_id}",
        path_params={"reward_id": _fresh_reward(w)},
    )
)
makes("PUT /v1/admin/catalogue-rewards/{reward_id}")(
    lambda w: admin(
        w,
        "PUT /v1/admin/catalogue-rewards/{reward_id}",
        {**reward_body(), "points_cost": 2},
        path_params={"reward_id": _fresh_reward(w)},
    )
)
makes("POST /v1/admin/catalogue-rewards/{reward_id}/retire")(
    lambda w: admin(
        w,
        "POST /v1/admin/catalogue-rewards/{reward_id}/retire",
        {"reason": "fuzz"},
        path_params={"reward_id": _fresh_reward(w)},
    )
)
makes("GET /v1/admin/reward-redemptions/{redemption_id}")(
    lambda w: admin(
        w,
        "GET /v1/admin/reward-redemptions/{redemption_id}",
        path_params={"redemption_id": _fresh_redemption(w)},
    )
)
makes("POST /v1/admin/reward-redemptions/{redemption_id}/cancel")(
    lambda w: admin(
        w,
        "POST /v1/admin/reward-redemptions/{redemption_id}/cancel",
        {"reason": "fuzz"},
        path_params={"redemption_id": _fresh_redemption(w)},
    )
)
makes("POST /v1/admin/reward-redemptions/{redemption_id}/fulfil")(
    lambda w: admin(
        w,
        "POST /v1/admin/reward-redemptions/{redemption_id}/fulfil",
        path_params={"redemption_id": _fresh_redemption(w)},
    )
)
makes("GET /v1/me/rewards")(lambda w: member(w, "GET /v1/me/rewards", query={"limit": "5"}))
makes("GET /v1/me/rewards/redemptions")(
    lambda w: member(w, "GET /v1/me/rewards/redemptions", query={"limit": "5"})
)
makes("POST /v1/me/rewards/{reward_id}/redeem")(
    lambda w: member(
        w,
        "POST /v1/me/rewards/{reward_id}/redeem",
        path_params={"reward_id": _fresh_reward(w)},
    )
)
makes("POST /v1/me/sale-claims")(
    lambda w: member(w, "POST /v1/me/sale-claims", {"claim_code": _guest_sale(w)["claim_code"]})
)


@makes("POST /v1/pos/sale-claims")
def _pos_claim(w: World) -> Request:
    assert w.member is not None
    body = {"member_id": w.member.member_id, "receipt_id": _guest_sale(w)["receipt_id"]}
    return pos(w, "POST /v1/pos/sale-claims", body)


def _fresh_fulfilment_code(w: World) -> str:
    """An item redemption's code, as the member shows it at the till."""
    assert w.member is not None
    response = w.http.post(
        f"/v1/me/rewards/{_fresh_reward(w)}/redeem",
        headers={**w.member.auth, "Idempotency-Key": key()},
    )
    code: str = expect(response, 201)["redemption"]["fulfilment_code"]
    return code


makes("GET /v1/pos/reward-redemptions")(
    lambda w: pos(
        w,
        "GET /v1/pos/reward-redemptions",
        query={"fulfilment_code": _fresh_fulfilment_code(w)},
    )
)


@makes("POST /v1/pos/reward-collections")
def _pos_collect(w: World) -> Request:
    body = {"fulfilment_code": _fresh_fulfilment_code(w), "cash_paid": 100}
    return pos(w, "POST /v1/pos/reward-collections", body)
