"""Marketing's earning rules and reward catalogue in a real browser (issue #19, with #18's
console): marketing creates a rule, forecasts it (htmx) and schedules it, then creates a
reward; an analyst and a service agent are refused by the server, even with a forged POST.
Every page is checked with axe-core (no serious or critical violation) and photographed to
tests/artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import enrol, new_staff, serious_violations, shoot
from tests.browser.test_console_browser import _log_in
from tests.browser.test_console_manage_browser import _sell


def _look(page: Any, name: str) -> None:
    shoot(page, name)
    assert serious_violations(page) == [], name


def test_marketing_creates_forecasts_and_schedules_a_rule_then_creates_a_reward(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    member = enrol(base, env, "+8613900139501", "Rule Forecast")
    _sell(base, env, member, "RF-1", 30000)  # a past sale for the forecast
    link = new_staff(env, "marketing.rules@example.com", "marketing")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, "marketing.rules@example.com", "marketing")
        page.goto(f"{base}/console/earning-rules")
        _look(page, "marketing-rules")
        page.fill("#name", "Triple points weekend")
        page.select_option("#effect_kind", value="multiplier")
        page.fill("#effect_value", "3")
        # The forecast first: the form's rule over past sales, answered in place by htmx.
        page.click("#rule-form button.secondary")
        page.wait_for_selector("#forecast-result")
        forecast = page.locator("#forecast-result").inner_text()
        assert "Extra points" in forecast
        assert "Cost" in forecast
        _look(page, "marketing-rule-forecast")
        # A bad value is refused by the server, naming the field.
        page.fill("#effect_value", "three")
        page.click("#rule-form button[type=submit]:not(.secondary)")
        page.wait_for_selector("#form-error")
        assert "Value" in page.locator("#form-error").inner_text()
        assert page.locator("#effect_value").get_attribute("aria-invalid") == "true"
        _look(page, "marketing-rule-invalid")
        page.fill("#effect_value", "3")
        page.fill("#budget", "50000")
        page.click("#rule-form button[type=submit]:not(.secondary)")
        page.wait_for_url(f"{base}/console/earning-rules?done=created")
        page.click("text=Triple points weekend")
        page.wait_for_selector("#schedule-form")
        _look(page, "marketing-rule")
        page.fill("#schedule_starts_at", "2031-05-01T09:00")
        page.fill("#schedule_ends_at", "2031-05-03T21:00")
        page.click("#schedule-form button[type=submit]")
        page.wait_for_selector("text=The schedule is saved.")
        assert page.locator("#rule-state").inner_text() == "scheduled"
        _look(page, "marketing-rule-scheduled")

        page.goto(f"{base}/console/rewards")
        _look(page, "marketing-rewards")
        page.fill("#name", "Linen tote")
        page.select_option("#kind", value="item")
        page.fill("#points_cost", "800")
        page.fill("#cash_price", "19.90")
        page.fill("#stock", "50")
        page.click("#reward-form button[type=submit]")
        page.wait_for_url(f"{base}/console/rewards?done=created")
        row = page.locator("tr", has_text="Linen tote").inner_text()
        assert "800" in row
        assert "19.90" in row
        _look(page, "marketing-rewards-created")
        # In Chinese, the same pages.
        page.click("a[lang=zh-Hans]")
        page.wait_for_url(f"{base}/console/rewards")
        assert "奖励目录" in page.locator("h1").inner_text()
        _look(page, "marketing-rewards-zh")
        page.goto(f"{base}/console/earning-rules")
        assert "积分规则" in page.locator("h1").inner_text()
        _look(page, "marketing-rules-zh")
    finally:
        context.close()


def test_analyst_and_service_are_refused_the_rule_and_reward_pages_even_forged(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    for role in ("analyst", "service"):
        email = f"{role}.rules@example.com"
        link = new_staff(env, email, role)
        context = browser.new_context(locale="en-GB")
        page = context.new_page()
        try:
            _log_in(page, base, link, email, role)
            assert "Earning rules" not in page.locator("nav").inner_text()
            answer = page.goto(f"{base}/console/earning-rules")
            assert answer is not None
            assert answer.status == 403
            _look(page, f"{role}-rules-refused")
            page.goto(f"{base}/console")
            cookies = {c["name"]: c["value"] for c in context.cookies()}
            token = page.locator("input[name=_csrf]").first.get_attribute("value")
        finally:
            context.close()
        with httpx.Client(base_url=base, cookies=cookies) as forger:
            # The role's valid session and CSRF token: the server refuses all the same.
            forged = {"_csrf": token, "name": "Forged", "effect_kind": "multiplier"}
            assert forger.post("/console/earning-rules", data=forged).status_code == 403
            assert forger.post("/console/earning-rules/forecast", data=forged).status_code == 403
            reward = {"_csrf": token, "name": "Forged", "kind": "item", "points_cost": "1"}
            assert forger.post("/console/rewards", data=reward).status_code == 403
            assert forger.get("/console/rewards").status_code == 403
