"""The service agent's journey in a real browser (issue #18): finds a member by phone,
adjusts points, replaces a card, works the feedback inbox, records a follow-up call; an
adjustment over the role's limit is refused by the server. Every page is checked by axe-core
(no serious or critical violation) and photographed, in English and in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.browser.conftest import admin_token, enrol, new_staff, serious_violations, shoot
from tests.browser.test_console_browser import _log_in
from tests.e2e.conftest import cli

LIMIT = 1000  # LOYALTY_SERVICE_ADJUSTMENT_LIMIT's default: the served service does not set it
PHONE = "+8613700137001"


def _shop(base: str, env: dict[str, str]) -> dict[str, str]:
    """A member who bought a week ago (a follow-up call due today) and sent a complaint."""
    admin = {"Authorization": f"Bearer {admin_token(env)}"}
    store = httpx.post(
        f"{base}/v1/admin/stores",
        json={"code": "SVC", "name": "Service store"},
        headers={**admin, "Idempotency-Key": "svc-store"},
    ).json()
    terminal = httpx.post(
        f"{base}/v1/admin/terminals",
        json={"store_id": store["store_id"], "code": "till-1"},
        headers={**admin, "Idempotency-Key": "svc-terminal"},
    ).json()
    till = {
        "Authorization": "Bearer "
        + httpx.post(
            f"{base}/v1/auth/terminal-token",
            json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
        ).json()["access_token"]
    }
    member = httpx.post(
        f"{base}/v1/pos/members",
        json={"phone": PHONE, "name": "Zhou Min"},
        headers={**till, "Idempotency-Key": "svc-member"},
    ).json()
    sale = httpx.post(
        f"{base}/v1/pos/sales",
        json={
            "receipt_id": "SVC-1",
            "member_id": member["member_id"],
            "lines": [{"sku": "KETTLE", "quantity": 1, "unit_price": 19_900}],
            "occurred_at": (datetime.now(UTC) - timedelta(days=7)).isoformat(),
        },
        headers={**till, "Idempotency-Key": "svc-sale"},
    )
    assert sale.status_code == 201, sale.text
    cli("jobs", "schedule-follow-ups", env=env)
    token = cli("token", "member", member["member_id"], env=env)
    sent = httpx.post(
        f"{base}/v1/me/feedback",
        json={"kind": "complaint", "text": "The kettle lid is loose"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert sent.status_code == 201, sent.text
    return member  # type: ignore[no-any-return]


def _available(page: Any) -> int:
    return int(page.locator("#available").inner_text().replace(",", ""))


def _checked(page: Any, name: str) -> None:
    shoot(page, name)
    assert serious_violations(page) == [], name


def test_a_service_agent_finds_a_member_adjusts_points_and_records_a_follow_up_call(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    member = _shop(base, env)
    member_id = member["member_id"]
    link = new_staff(env, "service.journey@example.com", "service")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, "service.journey@example.com", "service")
        # Finds the member by phone, typed as a caller says it.
        page.goto(f"{base}/console/members")
        page.fill("#q", "137 0013 7001")
        page.click("form[role=search] button")
        page.wait_for_selector(f"a[href='/console/members/{member_id}']")
        _checked(page, "service-search-by-phone")
        page.click(f"a[href='/console/members/{member_id}']")
        page.wait_for_url(f"{base}/console/members/{member_id}")
        _checked(page, "service-member-360-actions")
        before = _available(page)  # what the purchase earned
        # Adjusts points with a reason.
        page.fill("#points", "150")
        page.fill("#reason", "Goodwill: late delivery")
        page.click("#adjust button[type=submit]")
        page.wait_for_selector("#done")
        assert _available(page) == before + 150
        assert "Goodwill: late delivery" in page.locator("main").inner_text()
        _checked(page, "service-member-adjusted")
        # Over the role's limit: the server refuses (403), whatever the page allowed.
        page.fill("#points", str(LIMIT + 1))
        page.fill("#reason", "Too generous")
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/adjust")
        ) as refused:
            page.click("#adjust button[type=submit]")
        assert refused.value.status == 403
        page.wait_for_selector("#refused")
        assert _available(page) == before + 150
        _checked(page, "service-member-adjustment-refused")
        # Replaces a lost card.
        page.click("#replace-card button")
        page.wait_for_selector("#done")
        assert page.locator("#card-number").inner_text() != member["card_number"]
        _checked(page, "service-member-card-replaced")
        # The feedback inbox: acknowledge, then resolve with a note.
        page.goto(f"{base}/console/feedback")
        assert "The kettle lid is loose" in page.locator("main").inner_text()
        _checked(page, "service-feedback-inbox")
        page.click("main form button[value=acknowledged]")
        page.wait_for_selector("#done")
        page.goto(f"{base}/console/feedback?status=acknowledged")
        page.fill("main textarea", "Sent a new lid")
        page.click("main form button[value=resolved]")
        page.wait_for_selector("#done")
        page.goto(f"{base}/console/feedback?status=resolved")
        assert "Sent a new lid" in page.locator("main").inner_text()
        _checked(page, "service-feedback-resolved")
        # Today's follow-up calls: records the outcome and satisfaction.
        page.click("nav a[href='/console/follow-ups']")
        page.wait_for_url(f"{base}/console/follow-ups")
        calls = page.locator("main").inner_text()
        assert "Zhou Min" in calls
        assert PHONE in calls
        assert "SVC-1" in calls
        _checked(page, "service-follow-ups-today")
        page.select_option("main select[name=status]", "reached")
        page.select_option("main select[name=satisfaction]", "4")
        page.fill("main textarea[name=outcome]", "Happy with the kettle")
        page.click("main form button[type=submit]")
        page.wait_for_selector("#done")
        assert "SVC-1" not in page.locator("main").inner_text()
        page.goto(f"{base}/console/follow-ups?show=all")
        assert "Happy with the kettle" in page.locator("main").inner_text()
        _checked(page, "service-follow-ups-all")
        # The same pages in Chinese.
        page.click("a[lang=zh-Hans]")
        page.wait_for_url(f"{base}/console/follow-ups")  # the switch keeps the path
        assert "回访电话" in page.locator("h1").inner_text()
        for path, name in (
            ("/console/follow-ups?show=all", "service-follow-ups-zh"),
            (f"/console/members/{member_id}", "service-member-360-zh"),
            ("/console/feedback?status=all", "service-feedback-zh"),
            ("/console/members?q=zhou", "service-search-zh"),
        ):
            page.goto(f"{base}{path}")
            _checked(page, name)
        page.goto(f"{base}/console/members/{member_id}")
        assert "调整积分" in page.locator("main").inner_text()
    finally:
        context.close()


def test_an_owner_erases_a_member_after_typing_the_confirmation(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    member_id = enrol(base, env, "+8613700137002", "Qian Hui")
    link = new_staff(env, "owner.erase@example.com", "owner")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, "owner.erase@example.com", "owner")
        page.goto(f"{base}/console/members/{member_id}")
        _checked(page, "owner-member-360-erase")
        page.fill("#confirm", "yes")
        with page.expect_response(lambda r: r.request.method == "POST") as refused:
            page.click("#erase button")
        assert refused.value.status == 422
        page.wait_for_selector("#refused")
        page.fill("#confirm", "ERASE")
        page.click("#erase button")
        page.wait_for_selector("#erased-note")
        assert "Qian Hui" not in page.locator("main").inner_text()
        _checked(page, "owner-member-erased")
    finally:
        context.close()
