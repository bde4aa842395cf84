"""The console's earning-rule, reward and redemption pages (issue #19) through the HTTP app:
each a real operation through the use cases, refused by the server to roles that lack it."""

from __future__ import annotations

import re
from typing import Any

from app.container import Container
from domain.staff import StaffRole
from tests.api.client import Api
from tests.api.test_console_manage import _as, console, service
from tests.api.test_reward_catalogue_api import create_reward, member_with_points, redeem

__all__ = ["console", "service"]  # the fixtures, shared

RULE = {
    "name": "Double points on bedding",
    "effect_kind": "multiplier",
    "effect_value": "2",
    "categories": "bedding",
    "channel_pos": "on",
    "budget": "100000",
    "status": "active",
}
REWARD = {"name": "Tea towel", "kind": "item", "points_cost": "300", "cash_price": "9.90"}


def _rule_id(page: str, name: str) -> str:
    found = re.search(r'href="/console/earning-rules/([0-9a-f-]{36})">' + re.escape(name), page)
    assert found, page
    return found.group(1)


async def test_marketing_creates_a_rule_forecasts_schedules_pauses_and_every_change_is_audited(
    console: Any, service: Container, api: Api
) -> None:
    await member_with_points(api)  # one sale of 500.00 today, to forecast over
    token = await _as(console, service, StaffRole.MARKETING)

    created = await console.post("/console/earning-rules", data={**RULE, "_csrf": token})
    assert (created.status_code, created.headers["location"]) == (
        303,
        "/console/earning-rules?done=created",
    )
    listing = await console.get("/console/earning-rules")
    rule_id = _rule_id(listing.text, RULE["name"])

    forecast = await console.post(
        "/console/earning-rules/forecast",
        data={**RULE, "categories": "", "_csrf": token},
        headers={"HX-Request": "true"},
    )
    assert forecast.status_code == 200, forecast.text
    assert 'id="forecast-result"' in forecast.text
    assert "<html" not in forecast.text  # a fragment for htmx
    # Double points on the one sale of the last 30 days: 500 more points, one member.
    assert re.search(r"Extra points</th><td>500<", forecast.text), forecast.text
    assert re.search(r"Members</th><td>1<", forecast.text)
    assert re.search(r"Sales</th><td>1<", forecast.text)

    scheduled = await console.post(
        f"/console/earning-rules/{rule_id}/schedule",
        data={"_csrf": token, "version": "1", "starts_at": "2030-01-01T09:00", "ends_at": ""},
    )
    assert scheduled.status_code == 303, scheduled.text
    page = await console.get(f"/console/earning-rules/{rule_id}")
    assert 'id="rule-state">scheduled' in page.text
    paused = await console.post(
        f"/console/earning-rules/{rule_id}/status",
        data={"_csrf": token, "version": "2", "status": "paused"},
    )
    assert paused.status_code == 303
    rule = await api.client.get(f"/v1/admin/earning-rules/{rule_id}", headers=api.admin_headers)
    assert (rule.json()["status"], rule.json()["version"]) == ("paused", 3)
    audit = await api.client.get(
        "/v1/admin/audit-log",
        params={"actor": "staff:marketing.manage@example.com"},
        headers=api.admin_headers,
    )
    assert audit.status_code == 200, audit.text
    actions = {e["action"] for e in audit.json()["items"]}
    assert {"earning_rule.created", "earning_rule.scheduled", "earning_rule.paused"} <= actions


async def test_an_invalid_rule_is_422_naming_the_field_and_a_stale_edit_is_409(
    console: Any, service: Container
) -> None:
    token = await _as(console, service, StaffRole.MARKETING)
    bad_budget = await console.post(
        "/console/earning-rules", data={**RULE, "budget": "-5", "_csrf": token}
    )
    bad_value = await console.post(
        "/console/earning-rules", data={**RULE, "effect_value": "lots", "_csrf": token}
    )
    for refused, field in ((bad_budget, "budget"), (bad_value, "effect_value")):
        assert refused.status_code == 422
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', refused.text), refused.text
    assert "Budget (points in all)" in bad_budget.text  # the field named in the message

    await console.post("/console/earning-rules", data={**RULE, "_csrf": token})
    rule_id = _rule_id((await console.get("/console/earning-rules")).text, RULE["name"])
    saved = await console.post(
        f"/console/earning-rules/{rule_id}",
        data={**RULE, "effect_value": "3", "version": "1", "_csrf": token},
    )
    stale = await console.post(
        f"/console/earning-rules/{rule_id}",
        data={**RULE, "effect_value": "4", "version": "1", "_csrf": token},
    )
    assert saved.status_code == 303
    assert stale.status_code == 409
    assert (
        'name="effect_value" type="text" value="3"'
        in (await console.get(f"/console/earning-rules/{rule_id}")).text
    )


async def test_marketing_creates_edits_and_retires_a_reward_with_cash_in_exact_minor_units(
    console: Any, service: Container, api: Api
) -> None:
    token = await _as(console, service, StaffRole.MARKETING)
    created = await console.post("/console/rewards", data={**REWARD, "stock": "5", "_csrf": token})
    assert created.status_code == 303, created.text
    rewards = await api.client.get("/v1/admin/catalogue-rewards", headers=api.admin_headers)
    (reward,) = rewards.json()["items"]
    assert (reward["cash_price"], reward["stock"], reward["points_cost"]) == (990, 5, 300)

    bad = await console.post(
        f"/console/rewards/{reward['reward_id']}",
        data={**REWARD, "cash_price": "9.999", "_csrf": token},
    )
    assert bad.status_code == 422
    assert re.search(r'id="cash_price"[^>]*aria-invalid="true"', bad.text)
    revised = await console.post(
        f"/console/rewards/{reward['reward_id']}",
        data={**REWARD, "points_cost": "250", "tier_member": "on", "_csrf": token},
    )
    assert revised.status_code == 303, revised.text
    retired = await console.post(
        f"/console/rewards/{reward['reward_id']}/retire", data={"reason": "season", "_csrf": token}
    )
    assert retired.status_code == 303
    after = await api.client.get(
        f"/v1/admin/catalogue-rewards/{reward['reward_id']}", headers=api.admin_headers
    )
    assert (after.json()["version"], after.json()["points_cost"]) == (2, 250)
    assert after.json()["retired_at"] is not None


async def test_service_looks_a_redemption_up_by_code_and_cancels_it_once(
    console: Any, service: Container, api: Api
) -> None:
    _, member = await member_with_points(api)
    lamp = await create_reward(api)
    redemption = (await redeem(api, member, lamp["reward_id"])).json()["redemption"]
    token = await _as(console, service, StaffRole.SERVICE)

    found = await console.get(
        "/console/redemptions", params={"code": redemption["fulfilment_code"].lower()}
    )
    assert found.status_code == 200
    assert f"/console/redemptions/{redemption['redemption_id']}/cancel" in found.text
    form = {"_csrf": token, "reason": "changed their mind", "once": "form-key-1"}
    url = f"/console/redemptions/{redemption['redemption_id']}/cancel"
    cancelled = await console.post(url, data=form)
    again = await console.post(url, data=form)  # a double click: the first answer
    assert (cancelled.status_code, again.status_code) == (303, 303)
    me = await api.client.get("/v1/me", headers=api.member_headers(member))
    assert me.json()["points"]["available"] == 500


async def test_analyst_and_service_forging_rule_and_reward_changes_get_403(
    console: Any, service: Container
) -> None:
    for role in (StaffRole.ANALYST, StaffRole.SERVICE):
        token = await _as(console, service, role)
        for path, form in (
            ("/console/earning-rules", RULE),
            ("/console/earning-rules/forecast", RULE),
            ("/console/rewards", REWARD),
        ):
            forged = await console.post(path, data={**form, "_csrf": token})
            assert forged.status_code == 403, (role, path)
        for page in ("/console/earning-rules", "/console/rewards"):
            assert (await console.get(page)).status_code == 403, (role, page)
    token = await _as(console, service, StaffRole.MARKETING)
    assert (await console.get("/console/redemptions")).status_code == 403
    no_csrf = await console.post("/console/earning-rules", data=RULE)
    assert no_csrf.status_code == 403
