"""The console in a real browser (issue #18, item 5): Playwright for Python driving the
distribution's Chromium (/usr/bin/chromium, Debian package `chromium`): `playwright install`
cannot download its own browsers here.

`make test` installs chromium when it is missing and the machine allows it (root with
apt-get). Without a browser these tests skip, saying what to install; under CI (CI=true) a
missing browser fails the run instead. Screenshots of every page visited go to
tests/artifacts/screenshots/ (gitignored), for a reviewer to look at every screen.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import cli, serving

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-4.14.1.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",  # root needs it
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = "install Chromium: apt-get update && apt-get install -y chromium"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser(db_url: str) -> Iterator[Any]:
    # Playwright's sync API runs an event loop of its own in this thread for as long as it is
    # open, and pytest-asyncio cannot run an async fixture meanwhile: db_url is set up first,
    # and Playwright is closed at the end of the module, before any other test's fixtures.
    path = chromium_path()
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"no Chromium for the browser tests under CI: {INSTALL_HINT}")
        pytest.skip(f"browser tests skipped: {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: make installs it with the dev extra")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def served(db_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_STAFF_LOGINS_PER_IP": "1000/900",
    }
    with serving(env, "--migrate") as base:
        env["LOYALTY_CONSOLE_URL"] = f"{base}/console"
        yield base, env


_LINK = re.compile(r"(http\S+/console/set-password\?token=\S+)")


def new_staff(env: dict[str, str], email: str, role: str) -> str:
    """`loyalty staff create`, as an operator runs it; returns the set-password link."""
    printed = cli("staff", "create", "--email", email, "--role", role, env=env)
    found = _LINK.search(printed)
    assert found, printed
    return found.group(1)


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is."""
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def admin_token(env: dict[str, str]) -> str:
    return cli("token", "admin", "--subject", "browser-tests", env=env)


def enrol(base: str, env: dict[str, str], phone: str, name: str) -> str:
    """A member enrolled at a till, as a till does it."""
    admin = {"Authorization": f"Bearer {admin_token(env)}"}
    store = httpx.post(
        f"{base}/v1/admin/stores",
        json={"code": f"B{phone[-4:]}", "name": "Browser store"},
        headers={**admin, "Idempotency-Key": f"store-{phone}"},
    ).json()
    terminal = httpx.post(
        f"{base}/v1/admin/terminals",
        json={"store_id": store["store_id"], "code": "till-1"},
        headers={**admin, "Idempotency-Key": f"terminal-{phone}"},
    ).json()
    token = httpx.post(
        f"{base}/v1/auth/terminal-token",
        json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
    ).json()["access_token"]
    member = httpx.post(
        f"{base}/v1/pos/members",
        json={"phone": phone, "name": name},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"member-{phone}"},
    )
    assert member.status_code == 201, member.text
    member_id: str = member.json()["member_id"]
    return member_id
