"""Earning rules over HTTP: the admin's API, the till's breakdown, refunds, the forecast."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.client import Api

DOUBLE_BEDDING: dict[str, Any] = {
    "name": "Double bedding",
    "effect": {"kind": "multiplier", "value": "2"},
    "conditions": {"categories": ["bedding"]},
}
LINES = [
    {"sku": "DUVET", "quantity": 2, "unit_price": 10000, "category": "bedding"},
    {"sku": "GIFTCARD", "quantity": 1, "unit_price": 5000, "category": "gift"},
]


async def _create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.admin_post("/v1/admin/earning-rules", body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_an_admin_creates_lists_reads_revises_schedules_pauses_and_ends_a_rule(
    api: Api,
) -> None:
    rule = await _create(api, {**DOUBLE_BEDDING, "limits": {"budget": 5000}})
    assert (rule["version"], rule["status"], rule["limits"]["budget"]) == (1, "active", 5000)
    rid = rule["id"]
    listed = await api.client.get("/v1/admin/earning-rules", headers=api.admin_headers)
    assert [r["id"] for r in listed.json()["items"]] == [rid]
    revised = await api.client.put(
        f"/v1/admin/earning-rules/{rid}",
        json={
            **DOUBLE_BEDDING,
            "name": "Triple bedding",
            "effect": {"kind": "multiplier", "value": "3"},
            "version": 1,
        },
        headers=api.admin_headers,
    )
    assert revised.status_code == 200, revised.text
    assert (revised.json()["version"], revised.json()["name"]) == (2, "Triple bedding")
    stale = await api.client.put(
        f"/v1/admin/earning-rules/{rid}",
        json={**DOUBLE_BEDDING, "version": 1},
        headers=api.admin_headers,
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "earning_rule_changed")
    scheduled = await api.admin_post(
        f"/v1/admin/earning-rules/{rid}/schedule",
        {"starts_at": "2030-01-04T00:00:00+08:00", "ends_at": "2030-01-06T00:00:00+08:00"},
    )
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["version"] == 3
    paused = await api.admin_post(f"/v1/admin/earning-rules/{rid}/pause", {})
    assert (paused.json()["status"], paused.json()["version"]) == ("paused", 4)
    resumed = await api.admin_post(f"/v1/admin/earning-rules/{rid}/resume", {})
    assert resumed.json()["status"] == "active"
    ended = await api.admin_post(f"/v1/admin/earning-rules/{rid}/end", {})
    assert (ended.json()["status"], ended.json()["version"]) == ("ended", 6)
    again = await api.admin_post(f"/v1/admin/earning-rules/{rid}/pause", {})
    assert (again.status_code, again.json()["code"]) == (409, "earning_rule_ended")
    versions = await api.client.get(
        f"/v1/admin/earning-rules/{rid}/versions", headers=api.admin_headers
    )
    assert [v["version"] for v in versions.json()["items"]] == [1, 2, 3, 4, 5, 6]
    first = await api.client.get(
        f"/v1/admin/earning-rules/{rid}/versions",
        params={"limit": 4},
        headers=api.admin_headers,
    )
    rest = await api.client.get(
        f"/v1/admin/earning-rules/{rid}/versions",
        params={"limit": 4, "cursor": first.json()["next_cursor"]},
        headers=api.admin_headers,
    )
    assert [v["version"] for v in first.json()["items"] + rest.json()["items"]] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert rest.json()["next_cursor"] is None
    audit = await api.client.get(
        "/v1/admin/audit-log", params={"limit": 50}, headers=api.admin_headers
    )
    actions = [e["action"] for e in audit.json()["items"] if e["action"].startswith("earning")]
    assert sorted(actions) == sorted(
        [
            "earning_rule.created",
            "earning_rule.revised",
            "earning_rule.scheduled",
            "earning_rule.paused",
            "earning_rule.resumed",
            "earning_rule.ended",
        ]
    )
    missing = await api.client.get(
        "/v1/admin/earning-rules/00000000-0000-0000-0000-000000000000",
        headers=api.admin_headers,
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "earning_rule_not_found")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"effect": {"kind": "multiplier", "value": "1"}}, "effect.value"),
        ({"effect": {"kind": "bonus_per_order", "value": "2.5"}}, "effect.value"),
        ({"effect": {"kind": "exclude"}, "conditions": {}}, "conditions.skus"),
        ({"conditions": {"rfm_segments": ["vip"]}}, "conditions.rfm_segments"),
        ({"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, "ends_at"),
    ],
)
async def test_an_invalid_rule_is_422_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    response = await api.admin_post("/v1/admin/earning-rules", {**DOUBLE_BEDDING, **change})
    assert response.status_code == 422, response.text
    body = response.json()
    named = {body.get("field")} | {e.get("field") for e in body.get("errors", [])}
    assert field in named, body


async def test_creating_a_rule_needs_an_idempotency_key_and_a_repeat_creates_nothing(
    api: Api,
) -> None:
    bare = await api.client.post(
        "/v1/admin/earning-rules", json=DOUBLE_BEDDING, headers=api.admin_headers
    )
    assert bare.status_code == 400
    first = await api.admin_post("/v1/admin/earning-rules", DOUBLE_BEDDING, key="rule-1")
    again = await api.admin_post("/v1/admin/earning-rules", DOUBLE_BEDDING, key="rule-1")
    assert first.json() == again.json()
    listed = await api.client.get("/v1/admin/earning-rules", headers=api.admin_headers)
    assert len(listed.json()["items"]) == 1


async def test_the_quote_and_the_sale_answer_a_breakdown_a_till_can_print(api: Api) -> None:
    await _create(api, DOUBLE_BEDDING)
    await _create(
        api,
        {
            "name": "Duvet launch",
            "effect": {"kind": "bonus_per_unit", "value": "500"},
            "conditions": {"skus": ["DUVET"]},
            "limits": {"per_order": 600},
            "priority": 5,
        },
    )
    await _create(
        api,
        {
            "name": "No points on gift cards",
            "effect": {"kind": "exclude"},
            "conditions": {"categories": ["gift"]},
        },
    )
    till = await api.open_till()
    member = await till.enrol()
    quote = await till.post("/v1/pos/quote", {"lines": LINES, "member_id": member["member_id"]})
    assert quote.status_code == 200, quote.text
    sale = await till.sell("R-1", LINES, member_id=member["member_id"])
    assert sale.status_code == 201, sale.text
    for body in (quote.json(), sale.json()):
        b = body["points_breakdown"]
        assert b["base"] == 200  # the gift card earns nothing
        assert b["excluded_lines"] == [1]
        assert [(r["name"], r["points"], r["cut"], r["cut_by"]) for r in b["rules"]] == [
            ("Duvet launch", 600, 400, "per_order"),
            ("Double bedding", 200, 0, None),
        ]
        assert b["total"] == body["points_earned"] == 1000
    recorded = await till.client.get(
        "/v1/pos/sales", params={"receipt_id": "R-1"}, headers=till.headers()
    )
    assert recorded.json()["points_breakdown"]["total"] == 1000


async def test_a_full_refund_reverses_every_rule_point_and_a_line_refund_its_own(
    api: Api,
) -> None:
    await _create(api, DOUBLE_BEDDING)
    till = await api.open_till()
    member = await till.enrol()
    sale = (await till.sell("R-1", LINES, member_id=member["member_id"])).json()
    assert sale["points_earned"] == 250 + 200
    gift = await till.refund(
        sale["sale_id"], {"refund_id": "F1", "lines": [{"sku": "GIFTCARD", "quantity": 1}]}
    )
    assert gift.json()["points_reversed"] == 50  # base only: no rule points on the gift card
    rest = await till.refund(sale["sale_id"], {"refund_id": "F2", "amount": 20000})
    assert rest.json()["points_reversed"] == 400
    assert rest.json()["points"] == {"available": 0, "pending": 0}


async def test_a_paused_rule_gives_nothing_and_a_guest_earns_nothing(api: Api) -> None:
    rule = await _create(api, DOUBLE_BEDDING)
    await api.admin_post(f"/v1/admin/earning-rules/{rule['id']}/pause", {})
    till = await api.open_till()
    member = await till.enrol()
    sale = (await till.sell("R-1", LINES, member_id=member["member_id"])).json()
    assert sale["points_earned"] == 250
    assert sale["points_breakdown"]["rules"] == []
    guest = (await till.sell("R-2", LINES)).json()
    assert (guest["points_earned"], guest["points_breakdown"]) == (0, None)


async def test_the_simulation_forecasts_extra_points_members_sales_and_cost_and_lifecycle_stages(
    api: Api,
) -> None:
    till = await api.open_till()
    member = await till.enrol()
    for n in range(3):
        assert (await till.sell(f"R-{n}", LINES, member_id=member["member_id"])).status_code == 201
    response = await api.client.post(
        "/v1/admin/earning-rules/simulate",
        json={"rule": DOUBLE_BEDDING, "from": "2020-01-01T00:00:00Z", "to": "2029-01-01T00:00:00Z"},
        headers=api.admin_headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["extra_points"], body["members"], body["sales"]) == (600, 1, 3)
    assert (body["cost"], body["currency"]) == (600, "CNY")
    assert (body["reversed_points"], body["net_extra_points"], body["net_cost"]) == (0, 600, 600)
    listed = await api.client.get("/v1/admin/earning-rules", headers=api.admin_headers)
    assert listed.json()["items"] == []  # nothing saved
    lifecycle = await api.client.post(
        "/v1/admin/earning-rules/simulate",
        json={
            "rule": {**DOUBLE_BEDDING, "conditions": {"lifecycle_stages": ["new"]}},
            "from": "2020-01-01T00:00:00Z",
            "to": "2029-01-01T00:00:00Z",
        },
        headers=api.admin_headers,
    )
    # Stages as each sale read them: the first sale was a prospect's, the next two a new
    # member's.
    assert lifecycle.status_code == 200, lifecycle.text
    assert (lifecycle.json()["members"], lifecycle.json()["sales"]) == (1, 2)
