"""Every time the API takes is within the accepted range (domain.time_range), and a sale's
within the back-dating limit: anything else is a 422 naming the field, and nothing is stored.

Before: a year-1 time was stored as -infinity (asyncpg writes datetime.min so), one with a
+14:00 offset was a 500, the last instant of 9999 was stored as infinity, and report
parameters like as_of=0001-01-01 or to=9999-12-31 were 500s.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from httpx import Response

from tests.api.client import Api, Till
from tests.api.test_coupon_templates_api import TEN_OFF, create_template
from tests.api.test_draws_api import campaign_body
from tests.support.webhooks import (
    payment_intent,
    shop_event,
    shop_headers,
    stripe_event,
    stripe_headers,
)

YEAR_ONE = "0001-01-01T00:00:00+00:00"  # asyncpg wrote it as -infinity
YEAR_ONE_EAST = "0001-01-01T00:00:00+14:00"  # year 0 in UTC: a 500
LAST_INSTANT = "9999-12-31T23:59:59.999999+00:00"  # asyncpg wrote it as infinity
BEFORE_2000 = "1999-12-31T23:59:59+00:00"
LINES = [{"sku": "SHEET", "quantity": 1, "unit_price": 10000}]
NOW = datetime.now(UTC)

# Every column a caller's time reaches, directly or through what is computed from it.
STORED_TIMES = {
    "sales": ("occurred_at",),
    "draw_campaigns": ("starts_at", "ends_at"),
    "coupon_templates": ("valid_from", "valid_until"),
    "coupons": ("valid_from", "expires_at"),
    "members": ("tier_manual_until",),
    "points_lots": ("expires_at", "release_at"),
}


@dataclass
class World:
    api: Api
    till: Till
    member_id: str
    template_id: str


@pytest.fixture
async def world(api: Api) -> World:
    till = await api.open_till()
    member = await till.enrol("+8613900000001")
    template = await create_template(api)
    return World(api, till, member["member_id"], template["id"])


async def out_of_range_rows(db_url: str) -> list[str]:
    connection = await asyncpg.connect(db_url)
    try:
        found = []
        for table, columns in STORED_TIMES.items():
            for column in columns:
                bad = await connection.fetchval(
                    f"SELECT count(*) FROM {table} WHERE {column} < '2000-01-01+00' "
                    f"OR {column} >= '2100-01-01+00'"
                )
                if bad:
                    found.append(f"{table}.{column}")
        return found
    finally:
        await connection.close()


Send = Callable[[World], Awaitable[Response]]


def sale(occurred_at: str) -> Send:
    async def send(w: World) -> Response:
        return await w.till.sell("R-1", LINES, member_id=w.member_id, occurred_at=occurred_at)

    return send


def quote(occurred_at: str) -> Send:
    async def send(w: World) -> Response:
        body = {"member_id": w.member_id, "lines": LINES, "occurred_at": occurred_at}
        return await w.till.post("/v1/pos/quote", body)

    return send


def admin(path: str, body: Callable[[World], dict[str, Any]]) -> Send:
    async def send(w: World) -> Response:
        return await w.api.admin_post(path.format(member=w.member_id), body(w))

    return send


def enrol(birthday: str) -> Send:
    async def send(w: World) -> Response:
        return await w.till.post(
            "/v1/pos/members", {"phone": "+8613900000002", "birthday": birthday}
        )

    return send


def shop(event: Callable[[World], bytes]) -> Send:
    async def send(w: World) -> Response:
        body = event(w)
        return await w.api.client.post(
            "/v1/webhooks/shop", content=body, headers=shop_headers(body)
        )

    return send


def stripe(created: int) -> Send:
    async def send(w: World) -> Response:
        body = stripe_event(
            "payment_intent.succeeded",
            payment_intent(
                "pi_3QfR3XLkdIwHu7ix0snN0B15",
                25000,
                created=created,
                metadata={"member_id": w.member_id},
            ),
        )
        return await w.api.client.post(
            "/v1/webhooks/stripe", content=body, headers=stripe_headers(body)
        )

    return send


def order_paid(paid_at: str, created_at: str = "2026-11-23T10:00:00+00:00") -> Callable[..., bytes]:
    def event(w: World) -> bytes:
        data = {"order_id": "O-1", "member_id": w.member_id, "lines": LINES, "paid_at": paid_at}
        body = shop_event("order.paid", data)
        return body.replace(b'"2026-11-23T10:00:00+00:00"', f'"{created_at}"'.encode(), 1)

    return event


def iso(moment: datetime) -> str:
    return moment.isoformat()


REFUSED: list[tuple[str, Send, str]] = [
    ("a sale in year 1", sale(YEAR_ONE), "occurred_at"),
    ("a sale in year 1 at +14:00", sale(YEAR_ONE_EAST), "occurred_at"),
    ("a sale at the last instant of 9999", sale(LAST_INSTANT), "occurred_at"),
    ("a quote in year 1 at +14:00", quote(YEAR_ONE_EAST), "occurred_at"),
    (
        "a draw campaign from year 1",
        admin("/v1/admin/draw-campaigns", lambda w: campaign_body(starts_at=YEAR_ONE)),
        "starts_at",
    ),
    (
        "a draw campaign until 9999",
        admin("/v1/admin/draw-campaigns", lambda w: campaign_body(ends_at=LAST_INSTANT)),
        "ends_at",
    ),
    (
        "a coupon template valid until 9999",
        admin(
            "/v1/admin/coupon-templates",
            lambda w: {
                **TEN_OFF,
                "valid_days": None,
                "valid_from": iso(NOW),
                "valid_until": LAST_INSTANT,
            },
        ),
        "valid_until",
    ),
    (
        "a coupon template valid from 1999",
        admin(
            "/v1/admin/coupon-templates",
            lambda w: {
                **TEN_OFF,
                "valid_days": None,
                "valid_from": BEFORE_2000,
                "valid_until": iso(NOW),
            },
        ),
        "valid_from",
    ),
    (
        "a tier by hand until 9999",
        admin(
            "/v1/admin/members/{member}/tier",
            lambda w: {"tier_code": "member", "reason": "goodwill", "until": LAST_INSTANT},
        ),
        "until",
    ),
    (
        "a tier by hand until yesterday",
        admin(
            "/v1/admin/members/{member}/tier",
            lambda w: {
                "tier_code": "member",
                "reason": "goodwill",
                "until": iso(NOW - timedelta(days=1)),
            },
        ),
        "until",
    ),
    ("a birthday in year 1", enrol("0001-01-01"), "birthday"),
    (
        "a campaign to a segment as of year 1",
        admin(
            "/v1/admin/coupons/issue",
            lambda w: {
                "template_id": w.template_id,
                "segment": {"lifecycle": "dormant", "as_of": "0001-01-01"},
                "campaign_key": "win-back",
            },
        ),
        "as_of",
    ),
    (
        "a campaign to a segment as of 1990",
        admin(
            "/v1/admin/coupons/issue",
            lambda w: {
                "template_id": w.template_id,
                "segment": {"rfm": "champions", "as_of": "1990-01-01"},
                "campaign_key": "win-back",
            },
        ),
        "as_of",
    ),
    ("a web order paid in year 1", shop(order_paid(YEAR_ONE_EAST)), "data.paid_at"),
    (
        "a web order paid 100 days ago",
        shop(order_paid(iso(NOW - timedelta(days=100)))),
        "data.paid_at",
    ),
    ("a shop event created in year 1", shop(order_paid(iso(NOW), YEAR_ONE)), "created_at"),
    ("a Stripe payment created in 1970", stripe(0), "data.object.created"),
    ("a Stripe payment created in year 5138", stripe(10**11), "data.object.created"),
    (
        "a Stripe payment created 100 days ago",
        stripe(int((NOW - timedelta(days=100)).timestamp())),
        "data.object.created",
    ),
]


@pytest.mark.parametrize(("send", "field"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_a_time_out_of_range_is_422_naming_the_field_and_nothing_is_stored(
    world: World, clean_db: str, send: Send, field: str
) -> None:
    response = await send(world)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert await out_of_range_rows(clean_db) == []


@pytest.mark.parametrize(
    "query",
    [
        "reports/rfm?as_of=0001-01-01",
        "reports/rfm?as_of=9999-12-31",
        "reports/lifecycle?from=0001-01-01",
        "reports/lifecycle?to=9999-12-31",
        "reports/regions?to=9999-12-31",
        "reports/regions?from=1999-12-31",
        "reports/points-liability?from=0001-01-01",
        "reports/points-liability?to=9999-12-31",
        "segments/preview?lifecycle=dormant&as_of=0001-01-01",
        "segments/preview?rfm=champions&as_of=9999-12-31",
        "follow-ups?due_by=0001-01-01",
        "follow-ups?due_by=9999-12-31",
    ],
)
async def test_a_report_day_out_of_range_is_422_naming_the_parameter(api: Api, query: str) -> None:
    response = await api.client.get(f"/v1/admin/{query}", headers=api.admin_headers)

    assert response.status_code == 422, response.text
    parameter = query.split("?")[1].split("&")[-1].split("=")[0]
    assert [e["field"] for e in response.json()["errors"]] == [parameter]


async def test_report_days_from_2000_to_five_years_ahead_are_answered(api: Api) -> None:
    last = f"{NOW.year + 5}-12-31"
    for query in (
        "reports/rfm?as_of=2000-01-01",
        f"reports/rfm?as_of={last}",
        f"reports/lifecycle?from=2000-01-01&to={last}",
        f"reports/regions?from=2000-01-01&to={last}",
        f"reports/points-liability?from=2000-01-01&to={last}",
        f"segments/preview?lifecycle=dormant&as_of={last}",
    ):
        response = await api.client.get(f"/v1/admin/{query}", headers=api.admin_headers)
        assert response.status_code == 200, (query, response.text)


async def test_a_quote_back_dated_past_the_limit_or_ahead_of_the_skew_is_refused(
    world: World,
) -> None:
    # Now, not NOW (taken at import): a long suite reaches this test minutes later, and the
    # 5 minutes of skew allowed would then swallow "10 minutes ahead" of a stale NOW.
    now = datetime.now(UTC)
    within = await quote(iso(now - timedelta(days=89)))(world)
    too_old = await quote(iso(now - timedelta(days=91)))(world)
    ahead = await quote(iso(now + timedelta(minutes=10)))(world)

    assert within.status_code == 200, within.text
    for refused in (too_old, ahead):
        assert refused.status_code == 422
        assert refused.json()["errors"] == [
            {"field": "occurred_at", "message": refused.json()["detail"]}
        ]


async def test_times_at_the_edges_of_the_range_are_accepted(world: World) -> None:
    campaign = await world.api.admin_post(
        "/v1/admin/draw-campaigns",
        campaign_body(starts_at="2000-01-01T00:00:00+00:00", ends_at="2099-12-31T23:59:59Z"),
    )
    template = await world.api.admin_post(
        "/v1/admin/coupon-templates",
        {
            **TEN_OFF,
            "valid_days": None,
            "valid_from": "2000-01-01T00:00:00Z",
            "valid_until": "2099-12-31T23:59:59.999999Z",
        },
    )
    born = await enrol("1900-01-01")(world)

    assert campaign.status_code == 201, campaign.text
    assert template.status_code == 201, template.text
    assert born.status_code == 201, born.text


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_a_feedback_cursor_forged_around_a_time_out_of_range_is_422(
    api: Api, at: str
) -> None:
    forged = base64.urlsafe_b64encode(f"f{at}|{UUID(int=1)}".encode()).decode().rstrip("=")

    response = await api.client.get(
        "/v1/admin/feedback", params={"cursor": forged}, headers=api.admin_headers
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["cursor"]
