"""The console's pages of coupon templates, prize draws, store and terminal creation, webhook
endpoints and message templates (issue #18) through the HTTP app: each a real operation
through the use cases /v1/admin calls, refused by the server to roles that lack it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.persistence.outbound_webhooks import PostgresWebhookQueue
from app.container import Container
from domain.staff import StaffRole
from tests.api.client import Api
from tests.support.console import console_login, csrf_of, make_staff, on_app


@pytest.fixture
def service(client: AsyncTestClient[Any], app: Litestar) -> Container:
    container: Container = app.state.container
    return container


@pytest.fixture
async def console(client: AsyncTestClient[Any], api: Api) -> AsyncIterator[AsyncTestClient[Any]]:
    client.cookies.clear()
    client.follow_redirects = False
    try:
        yield client
    finally:
        client.follow_redirects = True
        client.cookies.clear()


async def _as(console: Any, service: Container, role: StaffRole) -> str:
    """Logs a new staff member of ``role`` in; returns a CSRF token of the session."""
    console.cookies.clear()
    email = f"{role.value}.pages@example.com"
    make_staff(service, email, role, client=console)
    assert (await console_login(console, email)).status_code == 303
    return csrf_of((await console.get("/console")).text)


def _zone(console: Any, service: Container) -> ZoneInfo:
    async def work() -> str:
        async with service.uow() as uow:
            return (await uow.program.get()).time_zone  # type: ignore[no-any-return]

    return ZoneInfo(on_app(console, work))


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


TEMPLATE_FORM = {
    "name": "Spring 10 off",
    "kind": "fixed",
    "value": "10.00",
    "min_spend": "50",
    "valid_days": "30",
    "per_member_limit": "2",
    "total_limit": "",
    "channel_pos": "on",
    "stackable": "on",
    "categories": "shoes, bags",
}


async def test_marketing_creates_a_coupon_template_then_saves_its_next_version(
    console: Any, service: Container, api: Api
) -> None:
    token = await _as(console, service, StaffRole.MARKETING)
    created = await console.post(
        "/console/coupon-templates", data={"_csrf": token, **TEMPLATE_FORM}
    )
    assert created.status_code == 303, created.text
    path = created.headers["location"].split("?")[0]
    template_id = path.rsplit("/", 1)[1]
    stored = (
        await api.client.get(f"/v1/admin/coupon-templates/{template_id}", headers=api.admin_headers)
    ).json()
    assert stored["value"] == 1000
    assert stored["min_spend"] == 5000
    assert stored["channels"] == ["pos"]
    assert stored["stackable"] is True
    assert stored["categories"] == ["bags", "shoes"]
    assert stored["per_member_limit"] == 2
    page = await console.get(path)
    assert 'value="10"' in page.text or 'value="10.00"' in page.text
    assert 'id="redeemed">0<' in page.text
    revised = await console.post(
        path, data={"_csrf": token, **TEMPLATE_FORM, "kind": "percent", "value": "15"}
    )
    assert revised.status_code == 303, revised.text
    again = (
        await api.client.get(f"/v1/admin/coupon-templates/{template_id}", headers=api.admin_headers)
    ).json()
    assert (again["version"], again["kind"], again["value"]) == (2, "percent", 15)
    listed = await console.get("/console/coupon-templates")
    assert "Spring 10 off" in listed.text
    assert "15%" in listed.text


async def test_a_refused_coupon_template_names_the_field_in_the_staff_members_language(
    console: Any, service: Container, api: Api
) -> None:
    token = await _as(console, service, StaffRole.MARKETING)
    bad = {**TEMPLATE_FORM, "kind": "percent", "value": "150"}
    refused = await console.post("/console/coupon-templates", data={"_csrf": token, **bad})
    assert refused.status_code == 422
    assert "check the field “Value”" in refused.text
    assert 'value="150"' in refused.text  # the form comes back as typed
    console.cookies.set("console_lang", "zh_Hans")
    chinese = await console.post(
        "/console/coupon-templates",
        data={"_csrf": token, **TEMPLATE_FORM, "valid_days": "", "valid_from": "soon"},
    )
    assert chinese.status_code == 422
    assert "“有效期开始”" in chinese.text
    listed = (await api.client.get("/v1/admin/coupon-templates", headers=api.admin_headers)).json()
    assert listed["items"] == []


def _draw_form(zone: ZoneInfo, starts: datetime, template_id: str) -> dict[str, str]:
    return {
        "name": "Lucky spring",
        "threshold": "100",
        "chances": "per_multiple",
        "chance_valid_days": "14",
        "starts_at": _local(starts, zone),
        "ends_at": _local(starts + timedelta(days=30), zone),
        "prize_code_0": "big",
        "prize_name_0": "Big prize",
        "prize_weight_0": "1",
        "prize_stock_0": "5",
        "prize_template_0": template_id,
        "prize_code_1": "small",
        "prize_name_1": "Small prize",
        "prize_weight_1": "3",
        "prize_stock_1": "",
        "prize_template_1": "",
    }


async def test_marketing_creates_a_draw_with_a_prize_table_and_reads_the_odds_members_see(
    console: Any, service: Container, api: Api
) -> None:
    template = (
        await api.admin_post(
            "/v1/admin/coupon-templates",
            {"name": "Prize coupon", "kind": "fixed", "value": 500, "valid_days": 30},
        )
    ).json()
    zone = _zone(console, service)
    token = await _as(console, service, StaffRole.MARKETING)
    later = datetime.now(zone) + timedelta(days=2)
    created = await console.post(
        "/console/draws", data={"_csrf": token, **_draw_form(zone, later, template["id"])}
    )
    assert created.status_code == 303, created.text
    path = created.headers["location"].split("?")[0]
    campaign_id = path.rsplit("/", 1)[1]
    page = await console.get(path)
    assert page.status_code == 200
    odds = re.search(r'<table class="compact" id="odds".*?</table>', page.text, re.S)
    assert odds is not None
    assert "25.00%" in odds.group(0)
    assert "75.00%" in odds.group(0)
    assert "Prize coupon" in odds.group(0)
    public = (await api.client.get(f"/v1/draw-campaigns/{campaign_id}/odds")).json()
    assert [p["probability"] for p in public["prizes"]] == ["1/4", "3/4"]
    stored = (
        await api.client.get(f"/v1/admin/draw-campaigns/{campaign_id}", headers=api.admin_headers)
    ).json()
    assert stored["threshold"] == 10000
    assert stored["prizes"][0]["stock"] == 5
    # Not started: it can be edited, not ended.
    not_running = await console.post(f"{path}/end", data={"_csrf": token})
    assert not_running.status_code == 409
    edited = await console.post(
        path,
        data={"_csrf": token, **_draw_form(zone, later, template["id"]), "prize_weight_1": "1"},
    )
    assert edited.status_code == 303, edited.text
    assert "50.00%" in (await console.get(path)).text
    # A running draw ends early; then its terms can no longer change.
    running = await console.post(
        "/console/draws",
        data={
            "_csrf": token,
            **_draw_form(zone, datetime.now(zone) - timedelta(hours=1), ""),
            "prize_template_0": "",
        },
    )
    running_path = running.headers["location"].split("?")[0]
    till = await api.open_till()
    member = (await till.enrol("+8613800000077"))["member_id"]
    sold = await till.sell(
        "D-1", [{"sku": "A", "quantity": 1, "unit_price": 25000}], member_id=member
    )
    assert sold.status_code == 201, sold.text
    plays = re.search(r'id="plays">([^<]*)<', (await console.get(running_path)).text)
    assert plays is not None
    assert "Chances earned: 2 · played: 0 · waiting to be played: 2" in plays.group(1)
    ended = await console.post(f"{running_path}/end", data={"_csrf": token, "reason": "sold out"})
    assert ended.status_code == 303
    assert 'id="ended"' in (await console.get(ended.headers["location"])).text
    bad_prize = {**_draw_form(zone, later, ""), "prize_weight_1": "0"}
    refused = await console.post("/console/draws", data={"_csrf": token, **bad_prize})
    assert refused.status_code == 422
    assert "check the field “Weight”" in refused.text


async def test_an_owner_creates_a_store_and_a_terminal_whose_secret_is_shown_once(
    console: Any, service: Container, api: Api
) -> None:
    token = await _as(console, service, StaffRole.OWNER)
    store = await console.post(
        "/console/stores", data={"_csrf": token, "code": "SH-01", "name": "Shanghai One"}
    )
    assert store.status_code == 201, store.text
    assert 'id="store-created"' in store.text
    store_id = re.search(r'name="store_id" value="([0-9a-f-]{36})"', store.text).group(1)  # type: ignore[union-attr]
    taken = await console.post(
        "/console/stores", data={"_csrf": token, "code": "SH-01", "name": "Again"}
    )
    assert taken.status_code == 409
    terminal = await console.post(
        "/console/terminals", data={"_csrf": token, "store_id": store_id, "code": "till-1"}
    )
    assert terminal.status_code == 201, terminal.text
    secret = re.search(r'id="new-secret">([^<]+)<', terminal.text).group(1)  # type: ignore[union-attr]
    terminal_id = re.search(r'id="new-terminal-id">([^<]+)<', terminal.text).group(1)  # type: ignore[union-attr]
    signed_in = await api.client.post(
        "/v1/auth/terminal-token", json={"terminal_id": terminal_id, "secret": secret}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert secret not in (await console.get("/console/stores")).text  # never shown again
    bad = await console.post(
        "/console/terminals", data={"_csrf": token, "store_id": store_id, "code": "bad code!"}
    )
    assert bad.status_code == 422
    assert "check the field “Code”" in bad.text


async def test_an_owner_registers_changes_rotates_and_disables_a_webhook_endpoint(
    console: Any, service: Container, api: Api
) -> None:
    token = await _as(console, service, StaffRole.OWNER)
    form = {
        "_csrf": token,
        "url": "https://hooks.example.com/loyalty",
        "description": "CRM",
        "event_member.enrolled": "on",
        "event_points.earned": "on",
    }
    registered = await console.post("/console/webhooks", data=form)
    assert registered.status_code == 201, registered.text
    secret = re.search(r'id="new-secret">([^<]+)<', registered.text).group(1)  # type: ignore[union-attr]
    assert secret.startswith("whsec_")
    listed = await console.get("/console/webhooks")
    assert secret not in listed.text
    assert "hooks.example.com" in listed.text
    endpoint_id = re.search(r'href="/console/webhooks/([0-9a-f-]{36})"', listed.text).group(1)  # type: ignore[union-attr]
    path = f"/console/webhooks/{endpoint_id}"
    changed = await console.post(
        path, data={**form, "event_member.enrolled": "", "event_tier.changed": "on"}
    )
    assert changed.status_code == 303
    stored = (
        await api.client.get(
            f"/v1/admin/webhook-endpoints/{endpoint_id}", headers=api.admin_headers
        )
    ).json()
    assert stored["event_types"] == ["points.earned", "tier.changed"]
    none_chosen = await console.post(path, data={"_csrf": token, "url": form["url"]})
    assert none_chosen.status_code == 422
    assert "check the field “Events”" in none_chosen.text
    rotated = await console.post(f"{path}/rotate", data={"_csrf": token, "overlap_hours": "2"})
    assert rotated.status_code == 200
    new_secret = re.search(r'id="new-secret">([^<]+)<', rotated.text).group(1)  # type: ignore[union-attr]
    assert new_secret != secret
    assert new_secret not in (await console.get(path)).text
    too_long = await console.post(f"{path}/rotate", data={"_csrf": token, "overlap_hours": "1000"})
    assert too_long.status_code == 422
    disabled = await console.post(f"{path}/state", data={"_csrf": token, "enabled": "false"})
    assert disabled.status_code == 303
    stored = (
        await api.client.get(
            f"/v1/admin/webhook-endpoints/{endpoint_id}", headers=api.admin_headers
        )
    ).json()
    assert stored["enabled"] is False
    unknown = await console.post(f"{path}/deliveries/999999/resend", data={"_csrf": token})
    assert unknown.status_code == 404


async def test_an_owner_reads_an_endpoints_delivery_log_and_sends_a_delivery_again(
    console: Any, service: Container, api: Api, clean_db: str
) -> None:
    token = await _as(console, service, StaffRole.OWNER)
    registered = await console.post(
        "/console/webhooks",
        data={"_csrf": token, "url": "https://hooks.example.com/a", "event_member.enrolled": "on"},
    )
    assert registered.status_code == 201
    endpoint_id = re.search(r'href="/console/webhooks/([0-9a-f-]{36})"', registered.text).group(1)  # type: ignore[union-attr]
    till = await api.open_till()
    await till.enrol("+8613800000088")
    queue = await asyncpg.connect(clean_db)
    try:  # the delivery job's first step: each new event queued for its endpoints
        assert await PostgresWebhookQueue(queue).fan_out(datetime.now(UTC), limit=100) >= 1
    finally:
        await queue.close()
    page = await console.get(f"/console/webhooks/{endpoint_id}")
    log = re.search(r'<table class="compact" id="deliveries".*?</table>', page.text, re.S)
    assert log is not None
    assert "member.enrolled" in log.group(0)
    assert "waiting to be sent" in log.group(0)
    delivery = re.search(r"/deliveries/(\d+)/resend", log.group(0)).group(1)  # type: ignore[union-attr]
    resent = await console.post(
        f"/console/webhooks/{endpoint_id}/deliveries/{delivery}/resend", data={"_csrf": token}
    )
    assert resent.status_code == 303
    audit = await console.get("/console/audit", params={"action": "webhook_endpoint.resent"})
    assert f"webhook_endpoint:{endpoint_id}" in audit.text


async def test_marketing_previews_saves_and_reverts_a_message_template(
    console: Any, service: Container
) -> None:
    token = await _as(console, service, StaffRole.MARKETING)
    listing = await console.get("/console/message-templates")
    assert listing.status_code == 200
    assert "/console/message-templates/coupon_issued/en" in listing.text
    path = "/console/message-templates/coupon_issued/en"
    page = await console.get(path)
    assert page.status_code == 200
    assert 'hx-post="/console/message-templates/coupon_issued/en/preview"' in page.text
    draft = {"_csrf": token, "subject": "A gift", "body": "Hi {{ name }}, enjoy {{ title }}!"}
    preview = await console.post(f"{path}/preview", data=draft, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    assert "Hi Li Lei, enjoy 10% off!" in preview.text
    assert "<html" not in preview.text
    broken = await console.post(f"{path}/preview", data={**draft, "body": "{{ nope }}"})
    assert 'id="preview-invalid"' in broken.text
    refused = await console.post(path, data={**draft, "body": "{{ nope }}"})
    assert refused.status_code == 422
    saved = await console.post(path, data=draft)
    assert saved.status_code == 303
    assert "Own text" in (await console.get("/console/message-templates")).text
    reverted = await console.post(f"{path}/reset", data={"_csrf": token})
    assert reverted.status_code == 303
    assert "Own text" not in (await console.get("/console/message-templates")).text
    assert (await console.get("/console/message-templates/nope/en")).status_code == 404


ACTIONS = {
    "/console/coupon-templates": ("marketing",),
    "/console/draws": ("marketing",),
    "/console/message-templates/coupon_issued/en": ("marketing",),
    "/console/message-templates/coupon_issued/en/reset": ("marketing",),
    "/console/stores": ("owner",),
    "/console/terminals": ("owner",),
    "/console/webhooks": ("owner",),
}
PAGES = {
    "/console/coupon-templates": ("owner", "marketing"),
    "/console/draws": ("owner", "marketing"),
    "/console/message-templates": ("owner", "marketing"),
    "/console/webhooks": ("owner",),
}


@pytest.mark.parametrize("role", [StaffRole.MARKETING, StaffRole.SERVICE, StaffRole.ANALYST])
async def test_a_role_without_the_permission_is_refused_by_the_server_even_with_a_valid_form(
    console: Any, service: Container, api: Api, role: StaffRole
) -> None:
    token = await _as(console, service, role)
    for path, allowed in PAGES.items():
        answer = await console.get(path)
        assert answer.status_code == (200 if role.value in allowed else 403), path
    for path, allowed in ACTIONS.items():
        if role.value in allowed:
            continue
        forged = await console.post(path, data={"_csrf": token, "name": "x", "code": "X1"})
        assert forged.status_code == 403, path
    # Nothing was created by the refused forms.
    stores = (await api.client.get("/v1/admin/stores", headers=api.admin_headers)).json()
    assert stores["items"] == []


async def test_every_new_action_refuses_a_form_without_the_csrf_token(
    console: Any, service: Container
) -> None:
    await _as(console, service, StaffRole.OWNER)
    for path in ACTIONS:
        refused = await console.post(path, data={"name": "x"})
        assert refused.status_code == 403, path


async def test_odd_form_values_are_refused_as_bad_input_never_a_server_error(
    console: Any, service: Container
) -> None:
    token = await _as(console, service, StaffRole.OWNER)
    odd = ("\x00", "1e999", "NaN", "-1", "99999999999999999999999", "0001-01-01T00:00", "é" * 300)
    for value in odd:
        for path, fields in (
            ("/console/coupon-templates", TEMPLATE_FORM),
            ("/console/draws", {"name": "x", "threshold": "1", "chances": "one"}),
            ("/console/stores", {"code": "S1", "name": "x"}),
            ("/console/webhooks", {"url": "https://x.example.com", "event_draw.won": "on"}),
            ("/console/message-templates/coupon_issued/en", {"subject": "x", "body": "x"}),
        ):
            for name in [*fields, "prize_weight_0", "valid_from", "starts_at"]:
                answer = await console.post(path, data={"_csrf": token, **fields, name: value})
                assert answer.status_code < 500, (path, name, value)
