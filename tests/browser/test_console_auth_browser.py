"""Staff login through the identity provider, a staff member's own second factor, an owner's
help with another account, and the header at 1280 x 800, in a real browser (issue #18).

This module serves its own service, configured with a local OpenID Connect provider
(tests/support/oidc_provider.py) answering on `localhost` while the console is on
`127.0.0.1`: two sites, so the provider's redirect back is a cross-site navigation, as in
production, and the SameSite cookies are put to the test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from tests.browser.conftest import new_staff, serious_violations, shoot
from tests.e2e.conftest import free_port, serving
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, LocalProvider, serve_oidc_provider

PASSWORD = "browser password 2026"


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    with serve_oidc_provider(host="localhost") as running:
        yield running


@pytest.fixture(scope="module")
def served(db_url: str, provider: LocalProvider) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_STAFF_LOGINS_PER_IP": "1000/900",
        "LOYALTY_CONSOLE_URL": f"http://127.0.0.1:{port}/console",
        "LOYALTY_OIDC_ISSUER": provider.issuer,
        "LOYALTY_OIDC_CLIENT_ID": CLIENT_ID,
        "LOYALTY_OIDC_CLIENT_SECRET": CLIENT_SECRET,
    }
    with serving(env, "--migrate", port=port) as base:
        yield base, env


def _set_password_and_log_in(page: Any, base: str, link: str, email: str) -> None:
    page.goto(link)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/login?password_set=1")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form[action='/console/login'] button[type=submit]")
    page.wait_for_url(f"{base}/console")


def test_the_login_button_goes_to_the_identity_provider_and_back_with_a_session(
    browser: Any, served: tuple[str, dict[str, str]], provider: LocalProvider
) -> None:
    base, env = served
    new_staff(env, "sso.owner@example.com", "owner")  # invited: no password, ever
    provider.login_as = "sso.owner@example.com"
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{base}/console/login")
        shoot(page, "oidc-login")
        assert serious_violations(page) == []
        page.click("#oidc-login")
        page.wait_for_url(f"{base}/console")
        assert "/console/staff" in page.locator("nav").inner_html()
        shoot(page, "oidc-dashboard")
        assert provider.authorize_requests[-1]["code_challenge_method"] == "S256"
        # Someone the provider vouches for but who has no account is refused.
        page.click("nav form.logout button")
        page.wait_for_url(f"{base}/console/login")
        provider.login_as = "stranger@example.com"
        page.click("#oidc-login")
        page.wait_for_url(f"{base}/console/oidc/callback?**")
        assert "identity provider" in page.locator("[role=alert]").inner_text()
        shoot(page, "oidc-refused")
        assert serious_violations(page) == []
    finally:
        context.close()


def test_a_staff_member_turns_on_a_second_factor_and_the_next_login_asks_for_it(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    email = "totp.browser@example.com"
    link = new_staff(env, email, "service")
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        _set_password_and_log_in(page, base, link, email)
        page.goto(f"{base}/console/account")
        shoot(page, "account-zh")
        assert serious_violations(page) == []
        page.click("form[action$='/offer'] button")
        page.wait_for_selector("#totp-secret")
        secret = page.locator("#totp-secret").inner_text()
        assert page.locator("figure.qr svg").count() == 1
        shoot(page, "account-second-factor-offer-zh")
        assert serious_violations(page) == []
        page.fill("#confirm-code", pyotp.TOTP(secret).now())
        page.click("form[action$='/confirm'] button")
        page.wait_for_selector("form[action$='/remove']")
        shoot(page, "account-second-factor-on-zh")
        assert serious_violations(page) == []
        page.click("nav form.logout button")
        page.wait_for_url(f"{base}/console/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("form[action='/console/login'] button[type=submit]")
        page.wait_for_url(f"{base}/console/totp")
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/console")
    finally:
        context.close()


def test_an_owner_issues_a_new_set_password_link_from_the_staff_page(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    link = new_staff(env, "owner.links@example.com", "owner")
    new_staff(env, "forgetful@example.com", "analyst")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        _set_password_and_log_in(page, base, link, "owner.links@example.com")
        page.goto(f"{base}/console/staff")
        row = page.locator("tr", has_text="forgetful@example.com")
        row.locator("form[action$='/link'] button").click()
        page.wait_for_selector("#set-password-link")
        fresh = page.locator("#set-password-link").inner_text()
        assert "/console/set-password?token=" in fresh
        shoot(page, "owner-staff-new-link")
        assert serious_violations(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_the_owners_header_is_one_row_of_links_and_menus_at_1280_wide(
    browser: Any, served: tuple[str, dict[str, str]], locale: str
) -> None:
    base, env = served
    email = f"owner.header.{locale.lower()}@example.com"
    link = new_staff(env, email, "owner")
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        _set_password_and_log_in(page, base, link, email)
        entries = page.evaluate(
            """() => [...document.querySelectorAll('nav ul.console-pages > li')].map(li => {
                 const shown = li.querySelector('summary') || li.querySelector('a');
                 const r = shown.getBoundingClientRect();
                 return {middle: Math.round(r.top + r.height / 2), height: r.height,
                         line: parseFloat(getComputedStyle(shown).lineHeight)};
               })"""
        )
        user = page.evaluate(
            """() => [...document.querySelectorAll('nav ul.console-user > li')]
                 .map(li => li.getBoundingClientRect())
                 .map(r => Math.round(r.top + r.height / 2))"""
        )
        summaries = page.locator("nav summary").all_inner_texts()
        shoot(page, f"owner-header-1280-{locale}")
        assert serious_violations(page) == []
        # Each menu opens on a click and shows its pages; the Staff page is one of them.
        page.click("nav summary >> nth=-1")
        page.locator("nav a[href='/console/staff']").click()
        page.wait_for_url(f"{base}/console/staff")
        page.click("nav summary.current")
        shoot(page, f"owner-header-menu-open-1280-{locale}")
        assert page.locator("nav a[aria-current=page]").is_visible()
        assert serious_violations(page) == []
    finally:
        context.close()
    assert len(entries) >= 4
    if locale == "zh-CN":  # the menus' names are translated like every other text
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in summaries), summaries
    # The links and menus in one row, none broken over two lines.
    middles = [entry["middle"] for entry in entries]
    assert max(middles) - min(middles) <= 4, entries
    assert all(entry["height"] < 2 * entry["line"] for entry in entries), entries
    # The languages, account and log-out controls on one line too.
    assert max(user) - min(user) <= 4, user
