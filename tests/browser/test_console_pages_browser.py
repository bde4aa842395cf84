"""The pages of coupon templates, prize draws, stores and terminals, webhooks and messages to
members in a real browser (issue #18), per role: marketing creates and revises a coupon
template, creates a draw with its prize table and reads the odds, edits a message with its
live preview; an owner creates a store and a terminal and sees its secret once, registers a
webhook endpoint; roles without the permission get 403 from the server even with a forged
form. Every page is checked with axe-core and photographed to tests/artifacts/screenshots/."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.browser.conftest import admin_token, new_staff, serious_violations, shoot
from tests.browser.test_console_browser import _log_in


def _look(page: Any, name: str) -> None:
    shoot(page, name)
    assert serious_violations(page) == [], name


def _admin(env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(env)}"}


def _chinese(page: Any, base: str, path: str, name: str) -> None:
    page.goto(f"{base}{path}")
    page.click("a[lang=zh-Hans]")
    page.wait_for_url(f"{base}{path}")
    _look(page, name)


def test_marketing_creates_a_coupon_template_then_revises_it(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    link = new_staff(env, "marketing.templates@example.com", "marketing")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, "marketing.templates@example.com", "marketing")
        page.goto(f"{base}/console/coupon-templates")
        _look(page, "marketing-coupon-templates")
        page.fill("#name", "Autumn 20 off")
        page.select_option("#kind", "fixed")
        page.fill("#value", "20")
        page.fill("#min_spend", "100")
        page.fill("#valid_days", "14")
        page.fill("#per_member_limit", "1")
        page.uncheck("#channel_web")
        page.click("#template-form button[type=submit]")
        page.wait_for_selector("#saved")
        _look(page, "marketing-coupon-template-created")
        assert "Version 1" in page.locator("h1").inner_text()
        # A value out of range is refused, naming the field; nothing is saved.
        page.select_option("#kind", "percent")
        page.fill("#value", "150")
        page.click("#template-form button[type=submit]")
        page.wait_for_selector("#fault")
        assert "Value" in page.locator("#fault").inner_text()
        _look(page, "marketing-coupon-template-refused")
        page.fill("#value", "15")
        page.click("#template-form button[type=submit]")
        page.wait_for_selector("#saved")
        assert "version 2" in page.locator("#saved").inner_text()
        page.goto(f"{base}/console/coupon-templates")
        row = page.locator("#templates tbody tr", has_text="Autumn 20 off").inner_text()
        assert "15%" in row
        assert "\t2\t" in row  # the version
        _chinese(page, base, "/console/coupon-templates", "marketing-coupon-templates-zh")
        assert "优惠券模板" in page.locator("h1").inner_text()
    finally:
        context.close()


def test_marketing_creates_a_draw_with_a_prize_table_and_reads_its_odds(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    template = httpx.post(
        f"{base}/v1/admin/coupon-templates",
        json={"name": "Draw prize coupon", "kind": "fixed", "value": 500, "valid_days": 30},
        headers={**_admin(env), "Idempotency-Key": "browser-draw-template"},
    )
    assert template.status_code == 201, template.text
    zone = ZoneInfo(httpx.get(f"{base}/v1/admin/program", headers=_admin(env)).json()["time_zone"])
    starts = datetime.now(zone) + timedelta(days=1)
    link = new_staff(env, "marketing.draws@example.com", "marketing")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, "marketing.draws@example.com", "marketing")
        page.goto(f"{base}/console/draws")
        _look(page, "marketing-draws")
        page.fill("#name", "Winter lucky draw")
        page.fill("#threshold", "200")
        page.select_option("#chances", "per_multiple")
        page.fill("#chance_valid_days", "7")
        page.fill("#starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
        page.fill("#ends_at", (starts + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"))
        for i, (code, name, weight, stock) in enumerate(
            (("gold", "Gold prize", "1", "2"), ("thanks", "Thank you", "9", ""))
        ):
            page.fill(f"input[name=prize_code_{i}]", code)
            page.fill(f"input[name=prize_name_{i}]", name)
            page.fill(f"input[name=prize_weight_{i}]", weight)
            page.fill(f"input[name=prize_stock_{i}]", stock)
        page.select_option("select[name=prize_template_0]", label="Draw prize coupon")
        page.click("#draw-form button[type=submit]")
        page.wait_for_selector("#odds")
        odds = page.locator("#odds").inner_text()
        assert "10.00%" in odds
        assert "90.00%" in odds
        assert "Draw prize coupon" in odds
        _look(page, "marketing-draw-odds")
        campaign_id = page.url.split("/console/draws/")[1].split("?")[0]
        public = httpx.get(f"{base}/v1/draw-campaigns/{campaign_id}/odds").json()
        assert [p["probability"] for p in public["prizes"]] == ["1/10", "9/10"]
        _chinese(page, base, f"/console/draws/{campaign_id}", "marketing-draw-odds-zh")
        assert "会员看到的中奖概率" in page.locator("#odds-title").inner_text()
    finally:
        context.close()


def test_an_owner_creates_a_store_and_a_terminal_and_sees_its_secret_once(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    link = new_staff(env, "owner.stores@example.com", "owner")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, "owner.stores@example.com", "owner")
        page.goto(f"{base}/console/stores")
        page.fill("#store-code", "BJ-07")
        page.fill("#store-name", "Beijing Seven")
        page.click("#store-form button[type=submit]")
        page.wait_for_selector("#store-created")
        _look(page, "owner-store-created")
        section = page.locator("section", has_text="Beijing Seven")
        section.locator("input[name=code]").fill("till-7")
        section.locator("form.add-terminal button").click()
        page.wait_for_selector("#terminal-created")
        _look(page, "owner-terminal-created")
        secret = page.locator("#new-secret").inner_text()
        terminal_id = page.locator("#new-terminal-id").inner_text()
        token = httpx.post(
            f"{base}/v1/auth/terminal-token",
            json={"terminal_id": terminal_id, "secret": secret},
        )
        assert token.status_code == 200, token.text
        page.goto(f"{base}/console/stores")
        assert secret not in page.content()  # shown once, never again
        assert "till-7" in page.locator("section", has_text="Beijing Seven").inner_text()
        _look(page, "owner-stores-after")
        _chinese(page, base, "/console/stores", "owner-stores-zh")
    finally:
        context.close()


def test_an_owner_registers_a_webhook_endpoint_and_sees_its_secret_once(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    link = new_staff(env, "owner.webhooks@example.com", "owner")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, "owner.webhooks@example.com", "owner")
        page.goto(f"{base}/console/webhooks")
        _look(page, "owner-webhooks")
        page.fill("#url", "https://crm.example.com/hooks")
        page.fill("#description", "Our CRM")
        page.check("[id='event_member.enrolled']")
        page.check("[id='event_coupon.redeemed']")
        page.click("#webhook-form button[type=submit]")
        page.wait_for_selector("#secret-shown")
        secret = page.locator("#new-secret").inner_text()
        assert secret.startswith("whsec_")
        _look(page, "owner-webhook-registered")
        page.click("#endpoints a")
        page.wait_for_selector("#deliveries")
        assert secret not in page.content()
        _look(page, "owner-webhook-endpoint")
        page.fill("#overlap_hours", "1")
        page.click("#rotate-form button[type=submit]")
        page.wait_for_selector("#secret-shown")
        assert page.locator("#new-secret").inner_text() != secret
        _look(page, "owner-webhook-rotated")
        page.click("#state-form button[type=submit]")
        page.wait_for_selector("#saved")
        assert "disabled" in page.locator("#saved").inner_text()
        _chinese(page, base, "/console/webhooks", "owner-webhooks-zh")
    finally:
        context.close()


def test_marketing_edits_a_message_with_its_live_preview_then_reverts_it(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    link = new_staff(env, "marketing.messages@example.com", "marketing")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, "marketing.messages@example.com", "marketing")
        page.goto(f"{base}/console/message-templates")
        _look(page, "marketing-message-templates")
        page.click("a[href='/console/message-templates/coupon_issued/en']")
        page.wait_for_selector("#message-form")
        page.fill("#body", "Dear {{ name }}, a present: {{ title }}")
        page.wait_for_function(
            "document.querySelector('#preview-body')?.textContent.includes('Dear Li Lei')"
        )
        _look(page, "marketing-message-preview")
        page.fill("#body", "Dear {{ nobody }}")
        page.wait_for_selector("#preview-invalid")
        _look(page, "marketing-message-preview-invalid")
        page.fill("#body", "Dear {{ name }}, a present: {{ title }}")
        page.wait_for_function(
            "document.querySelector('#preview-body')?.textContent.includes('Dear Li Lei')"
        )
        page.click("#message-form button[type=submit]")
        page.wait_for_selector("#saved")
        assert "Own text" in page.locator("main").inner_text()
        page.click("#reset-form button[type=submit]")
        page.wait_for_selector("#saved")
        assert "Shipped default" in page.locator("main").inner_text()
        _chinese(
            page, base, "/console/message-templates/coupon_issued/zh-CN", "marketing-message-zh"
        )
        assert "用示例数据预览" in page.locator("#preview-title").inner_text()
    finally:
        context.close()


def _session(browser: Any, base: str, env: dict[str, str], email: str, role: str) -> Any:
    """A logged-in session of ``role``: its cookies and a valid CSRF token."""
    link = new_staff(env, email, role)
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, email, role)
        for path in ("/console/webhooks", "/console/stores"):
            answer = page.goto(f"{base}{path}")
            assert answer is not None
            if answer.status == 403:
                shoot(page, f"{role}-{path.rsplit('/', 1)[1]}-refused")
        page.goto(f"{base}/console")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        token = page.locator("input[name=_csrf]").first.get_attribute("value")
    finally:
        context.close()
    return cookies, token


def test_roles_without_the_permission_get_403_from_the_server_even_with_a_forged_form(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    forms = {
        "/console/coupon-templates": {"name": "Forged", "kind": "fixed", "value": "1"},
        "/console/draws": {"name": "Forged"},
        "/console/message-templates/coupon_issued/en": {"subject": "x", "body": "forged"},
        "/console/stores": {"code": "FORGED", "name": "Forged"},
        "/console/webhooks": {"url": "https://forged.example.com", "event_draw.won": "on"},
    }
    refused = {
        "service": list(forms),
        "analyst": list(forms),
        "marketing": ["/console/stores", "/console/webhooks"],
    }
    for role, paths in refused.items():
        cookies, token = _session(browser, base, env, f"{role}.forger.pages@example.com", role)
        with httpx.Client(base_url=base, cookies=cookies) as forger:
            for path in paths:
                answer = forger.post(path, data={"_csrf": token, **forms[path]})
                assert answer.status_code == 403, (role, path)
    stores = httpx.get(f"{base}/v1/admin/stores", headers=_admin(env)).json()["items"]
    assert not any(s["code"] == "FORGED" for s in stores)
    hooks = httpx.get(f"{base}/v1/admin/webhook-endpoints", headers=_admin(env)).json()["items"]
    assert not any("forged" in h["url"] for h in hooks)
    messages = httpx.get(
        f"{base}/v1/admin/message-templates/coupon_issued/en", headers=_admin(env)
    ).json()
    assert "forged" not in messages["body"]
