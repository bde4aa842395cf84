"""An owner's member actions and marketing's automatic rewards in a real browser (issue #18):
the owner sets a member's tier through a chosen day and downloads the member's data; the
member's page shows points by expiry, draw chances and follow-up calls; marketing switches the
review and birthday rewards on; roles without these permissions get 403 from the server even
with a forged request. Every page is checked by axe-core and photographed, in both languages."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import admin_token, enrol, new_staff, serious_violations, shoot
from tests.browser.test_console_browser import _log_in

LADDER = {
    "window_days": 365,
    "grace_days": 30,
    "tiers": [
        {"code": "member", "name": "Member", "rank": 0, "threshold": 0, "earn_multiplier": "1"},
        {"code": "gold", "name": "Gold", "rank": 1, "threshold": 500_000, "earn_multiplier": "2"},
    ],
}


def _checked(page: Any, name: str) -> None:
    shoot(page, name)
    assert serious_violations(page) == [], name


def _admin(env: dict[str, str], key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(env)}", "Idempotency-Key": key}


def _session(browser: Any, base: str, link: str, email: str, role: str) -> tuple[Any, Any]:
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    page = context.new_page()
    _log_in(page, base, link, email, role)
    return context, page


def _forger(context: Any, page: Any, base: str) -> tuple[httpx.Client, str]:
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    token = page.locator("input[name=_csrf]").first.get_attribute("value")
    return httpx.Client(base_url=base, cookies=cookies), token


def test_an_owner_sets_a_members_tier_through_a_day_and_downloads_their_data(
    browser: Any, served: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, env = served
    moved = httpx.put(f"{base}/v1/admin/tiers", json=LADDER, headers=_admin(env, "ladder-1"))
    assert moved.status_code == 200, moved.text
    member_id = enrol(base, env, "+8613600136001", "Sun Li")
    link = new_staff(env, "owner.member@example.com", "owner")
    context, page = _session(browser, base, link, "owner.member@example.com", "owner")
    try:
        page.goto(f"{base}/console/members/{member_id}")
        _checked(page, "owner-member-360-owner-actions")
        main = page.locator("main").inner_text()
        for section in ("Points by expiry", "Draw chances", "Follow-up calls"):
            assert section in main, section
        # A day that has passed is refused by the use case, and nothing changes.
        page.select_option("#tier_code", "gold")
        page.fill("#until", (date.today() - timedelta(days=2)).isoformat())
        page.fill("#tier_reason", "Goodwill")
        with page.expect_response(lambda r: r.request.method == "POST") as refused:
            page.click("#set-tier button[type=submit]")
        assert refused.value.status == 422
        page.wait_for_selector("#refused")
        assert "Member" in page.locator(".kpis").inner_text()
        _checked(page, "owner-member-tier-refused")
        # Gold through a day next month, with a reason: the tier and its history say so.
        last_day = date.today() + timedelta(days=30)
        page.select_option("#tier_code", "gold")
        page.fill("#until", last_day.isoformat())
        page.fill("#tier_reason", "Hotel partnership")
        page.click("#set-tier button[type=submit]")
        page.wait_for_selector("#done")
        assert "Gold" in page.locator(".kpis").inner_text()
        assert "Hotel partnership" in page.locator("main").inner_text()
        _checked(page, "owner-member-tier-set")
        # The right-of-access file: everything held about the member, as the API answers it.
        with page.expect_download() as download:
            page.click("#export")
        saved = tmp_path / "export.json"
        download.value.save_as(saved)
        export = json.loads(saved.read_text())
        assert export["member_id"] == member_id
        assert export["tables"]["members"][0]["tier_code"] == "gold"
        # The same page in Chinese.
        page.click("a[lang=zh-Hans]")
        page.wait_for_url(f"{base}/console/members/{member_id}")
        assert "设定等级" in page.locator("main").inner_text()
        _checked(page, "owner-member-360-owner-actions-zh")
    finally:
        context.close()


def test_a_service_agent_cannot_set_a_tier_or_export_even_with_a_forged_request(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    member_id = enrol(base, env, "+8613600136002", "Wu Fang")
    link = new_staff(env, "service.tier@example.com", "service")
    context, page = _session(browser, base, link, "service.tier@example.com", "service")
    try:
        page.goto(f"{base}/console/members/{member_id}")
        assert page.locator("#set-tier").count() == 0
        assert page.locator("#export").count() == 0
        forger, token = _forger(context, page, base)
    finally:
        context.close()
    with forger:
        form = {"_csrf": token, "tier_code": "member", "tier_reason": "forged", "until": ""}
        assert forger.post(f"/console/members/{member_id}/tier", data=form).status_code == 403
        assert forger.get(f"/console/members/{member_id}/export.json").status_code == 403


def test_marketing_switches_the_review_and_birthday_rewards_on(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    template = httpx.post(
        f"{base}/v1/admin/coupon-templates",
        json={"name": "Thank-you 5 off", "kind": "fixed", "value": 500, "valid_days": 30},
        headers=_admin(env, "auto-template-1"),
    )
    assert template.status_code == 201, template.text
    template_id = template.json()["id"]
    link = new_staff(env, "marketing.auto@example.com", "marketing")
    context, page = _session(browser, base, link, "marketing.auto@example.com", "marketing")
    try:
        page.click("nav a[href='/console/automatic-rewards']")
        page.wait_for_url(f"{base}/console/automatic-rewards")
        _checked(page, "marketing-automatic-rewards")
        # On without a template: refused by the use case, nothing saved.
        page.check("#review_enabled")
        page.select_option("#review_template", "")
        with page.expect_response(lambda r: r.request.method == "POST") as refused:
            page.click("#review button[type=submit]")
        assert refused.value.status == 422
        page.wait_for_selector("#refused")
        _checked(page, "marketing-automatic-rewards-refused")
        page.check("#review_enabled")
        page.fill("#min_rating", "4")
        page.select_option("#review_template", template_id)
        page.click("#review button[type=submit]")
        page.wait_for_selector("#saved")
        page.check("#birthday_enabled")
        page.fill("#days_ahead", "10")
        page.select_option("#birthday_template", template_id)
        page.click("#birthday button[type=submit]")
        page.wait_for_selector("#saved")
        _checked(page, "marketing-automatic-rewards-saved")
        admin = {"Authorization": _admin(env, "x")["Authorization"]}
        review = httpx.get(f"{base}/v1/admin/review-reward", headers=admin).json()
        assert (review["enabled"], review["min_rating"], review["template_id"]) == (
            True, 4, template_id,
        )  # fmt: skip
        birthday = httpx.get(f"{base}/v1/admin/birthday-reward", headers=admin).json()
        assert (birthday["enabled"], birthday["days_ahead"], birthday["template_id"]) == (
            True, 10, template_id,
        )  # fmt: skip
        page.click("a[lang=zh-Hans]")
        page.wait_for_url(f"{base}/console/automatic-rewards")
        assert "自动奖励" in page.locator("h1").inner_text()
        _checked(page, "marketing-automatic-rewards-zh")
    finally:
        context.close()


def test_an_analyst_is_refused_the_automatic_rewards_by_the_server_even_when_forged(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    link = new_staff(env, "analyst.auto@example.com", "analyst")
    context, page = _session(browser, base, link, "analyst.auto@example.com", "analyst")
    try:
        assert page.locator("nav a[href='/console/automatic-rewards']").count() == 0
        forger, token = _forger(context, page, base)  # on the dashboard, after logging in
    finally:
        context.close()
    with forger:
        assert forger.get("/console/automatic-rewards").status_code == 403
        form = {"_csrf": token, "enabled": "on", "min_rating": "1", "template_id": ""}
        assert forger.post("/console/automatic-rewards/review", data=form).status_code == 403
        form = {"_csrf": token, "enabled": "", "days_ahead": "3", "template_id": ""}
        assert forger.post("/console/automatic-rewards/birthday", data=form).status_code == 403
