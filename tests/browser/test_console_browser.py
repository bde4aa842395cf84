"""Each role in a real browser: sets its password from the link, logs in, sees only its pages,
each page accessible (axe-core: no serious or critical violation) and photographed; a forged
request of a refused role is 403 from the server; a member's name is text, never markup."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.permissions import allows
from domain.staff import StaffRole
from tests.browser.conftest import enrol, new_staff, serious_violations, shoot

PASSWORD = "browser password 2026"
PAGES = {
    "dashboard": ("/console", "console.dashboard"),
    "members": ("/console/members", "console.members.search"),
    "staff": ("/console/staff", "console.staff.list"),
}


def _log_in(page: Any, base: str, link: str, email: str, role: str) -> None:
    page.goto(link)
    shoot(page, "set-password")
    assert serious_violations(page) == []
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/login?password_set=1")
    shoot(page, "login")
    assert serious_violations(page) == []
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/console")


@pytest.mark.parametrize("role", [r.value for r in StaffRole])
def test_each_role_logs_in_and_sees_only_its_pages(
    browser: Any, served: tuple[str, dict[str, str]], role: str
) -> None:
    base, env = served
    email = f"{role}.browser@example.com"
    link = new_staff(env, email, role)
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _log_in(page, base, link, email, role)
        nav = page.locator("nav").text_content() or ""  # closed menus too
        for name, (path, operation) in PAGES.items():
            allowed = allows(StaffRole(role), operation)
            label = name.capitalize()
            assert (label in nav) is allowed, (role, name, nav)
            answer = page.goto(f"{base}{path}")
            assert answer is not None
            assert answer.status == (200 if allowed else 403), (role, path)
            shoot(page, f"{role}-{name}" + ("" if allowed else "-refused"))
            assert serious_violations(page) == [], (role, path)
        # The same pages in Chinese, after the switch in the header.
        page.goto(f"{base}/console")
        page.click("a[lang=zh-Hans]")
        page.wait_for_url(f"{base}/console")
        assert "概览" in page.locator("h1").inner_text()
        shoot(page, f"{role}-dashboard-zh")
        assert serious_violations(page) == []
    finally:
        context.close()


def test_a_refused_role_gets_403_from_the_server_even_when_forged(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    link = new_staff(env, "analyst.forger@example.com", "analyst")
    context = browser.new_context()
    page = context.new_page()
    try:
        _log_in(page, base, link, "analyst.forger@example.com", "analyst")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        token = page.locator("input[name=_csrf]").first.get_attribute("value")
    finally:
        context.close()
    with httpx.Client(base_url=base, cookies=cookies) as forger:
        # Pages and actions the analyst's role lacks, with its valid session and CSRF token.
        assert forger.get("/console/members").status_code == 403
        assert forger.get("/console/staff").status_code == 403
        # A state-changing request without the CSRF token is refused, with it accepted.
        assert forger.post("/console/logout", data={}).status_code == 403
        assert forger.post("/console/logout", data={"_csrf": token}).status_code == 303


def test_a_member_named_like_a_script_is_shown_as_text(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    name = "<script>alert(1)</script>"
    member_id = enrol(base, env, "+8613900139001", name)
    link = new_staff(env, "service.xss@example.com", "service")
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        _log_in(page, base, link, "service.xss@example.com", "service")
        page.goto(f"{base}/console/members")
        page.fill("#q", "+8613900139001")
        page.click("form[role=search] button")
        page.wait_for_selector(f"a[href='/console/members/{member_id}']")
        assert name in page.locator("#results").inner_text()
        shoot(page, "service-member-search")
        assert serious_violations(page) == []
        page.click(f"a[href='/console/members/{member_id}']")
        page.wait_for_url(f"{base}/console/members/{member_id}")
        assert page.locator("h1").inner_text() == name
        shoot(page, "service-member-360")
        assert serious_violations(page) == []
    finally:
        context.close()
    assert dialogs == []


def test_an_owner_creates_an_account_whose_link_lets_its_holder_in(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    link = new_staff(env, "owner.hiring@example.com", "owner")
    context = browser.new_context()
    page = context.new_page()
    try:
        _log_in(page, base, link, "owner.hiring@example.com", "owner")
        page.goto(f"{base}/console/staff")
        page.fill("#new-email", "marketing.hired@example.com")
        page.fill("#new-name", "Hired")
        page.select_option("#new-role", "marketing")
        page.click("text=Create account")
        shown = page.locator("#set-password-link").inner_text()
        # The link is built from LOYALTY_CONSOLE_URL; this server listens on a port of its own.
        created = base + shown[shown.index("/console/") :]
        shoot(page, "owner-staff-created")
        assert serious_violations(page) == []
    finally:
        context.close()
    newcomer = browser.new_context()
    page = newcomer.new_page()
    try:
        _log_in(page, base, created, "marketing.hired@example.com", "marketing")
        assert "Staff" not in page.locator("nav").inner_text()
    finally:
        newcomer.close()
