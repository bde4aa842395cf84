"""A staff member's own second factor, and an owner's help with another's account: a new
set-password link and removing a lost second factor (issue #18), without a browser."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pyotp
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.container import Container
from domain.staff import StaffRole
from tests.api.client import Api
from tests.support.console import PASSWORD, console_login, csrf_of, make_staff

_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
_SEALED = re.compile(r'name="sealed" value="([^"]+)"')
_LINK = re.compile(r'id="set-password-link">([^<]+)<')


@pytest.fixture
async def console(client: AsyncTestClient[Any], api: Api) -> AsyncIterator[AsyncTestClient[Any]]:
    client.cookies.clear()
    client.follow_redirects = False
    try:
        yield client
    finally:
        client.follow_redirects = True
        client.cookies.clear()


async def _rows(db_url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetch(sql)
    finally:
        await connection.close()


async def _staff_id(db_url: str, email: str) -> str:
    [row] = await _rows(db_url, f"SELECT id FROM staff WHERE email = '{email}'")
    return str(row["id"])


async def _offer(console: AsyncTestClient[Any]) -> tuple[str, str, str]:
    page = await console.get("/console/account")
    offered = await console.post(
        "/console/account/second-factor/offer", data={"_csrf": csrf_of(page.text)}
    )
    assert offered.status_code == 200
    secret = _SECRET.search(offered.text)
    sealed = _SEALED.search(offered.text)
    assert secret
    assert sealed
    return secret.group(1), sealed.group(1).replace("&#43;", "+"), offered.text


async def test_a_staff_member_enrols_his_own_second_factor_with_a_code(
    console: AsyncTestClient[Any], app: Litestar, clean_db: str
) -> None:
    make_staff(app.state.container, "ann@example.com", StaffRole.SERVICE, client=console)
    await console_login(console, "ann@example.com")

    secret, sealed, page = await _offer(console)
    csrf = csrf_of(page)
    wrong = await console.post(
        "/console/account/second-factor/confirm",
        data={"_csrf": csrf, "sealed": sealed, "code": "000000"},
    )
    right = await console.post(
        "/console/account/second-factor/confirm",
        data={"_csrf": csrf, "sealed": sealed, "code": pyotp.TOTP(secret).now()},
    )

    assert "<svg" in page
    assert "otpauth://totp/" in page
    assert wrong.status_code == 422
    assert secret in wrong.text  # offered again: the app already set up keeps working
    assert right.status_code == 200
    assert "Second factor on" in right.text
    [row] = await _rows(clean_db, "SELECT totp_secret_sealed FROM staff")
    assert row["totp_secret_sealed"]
    assert secret not in row["totp_secret_sealed"]
    actions = await _rows(clean_db, "SELECT actor, action FROM audit_log ORDER BY id")
    assert ("staff:ann@example.com", "staff.second_factor_enrol") in [tuple(r) for r in actions]
    console.cookies.clear()
    assert (await console_login(console, "ann@example.com")).headers["location"] == "/console/totp"


async def test_nothing_is_stored_until_the_code_is_right(
    console: AsyncTestClient[Any], app: Litestar, clean_db: str
) -> None:
    make_staff(app.state.container, "ann@example.com", StaffRole.SERVICE, client=console)
    await console_login(console, "ann@example.com")

    _, sealed, page = await _offer(console)
    await console.post(
        "/console/account/second-factor/confirm",
        data={"_csrf": csrf_of(page), "sealed": sealed, "code": "123456"},
    )

    [row] = await _rows(clean_db, "SELECT totp_secret_sealed FROM staff")
    assert row["totp_secret_sealed"] is None


async def test_an_offer_made_for_another_member_cannot_be_confirmed(
    console: AsyncTestClient[Any], app: Litestar, clean_db: str
) -> None:
    container: Container = app.state.container
    make_staff(container, "ann@example.com", StaffRole.SERVICE, client=console)
    make_staff(container, "bob@example.com", StaffRole.SERVICE, client=console)
    await console_login(console, "ann@example.com")
    secret, sealed, _ = await _offer(console)
    console.cookies.clear()
    await console_login(console, "bob@example.com")
    page = await console.get("/console/account")

    refused = await console.post(
        "/console/account/second-factor/confirm",
        data={"_csrf": csrf_of(page.text), "sealed": sealed, "code": pyotp.TOTP(secret).now()},
    )

    assert refused.status_code == 422
    rows = await _rows(clean_db, "SELECT totp_secret_sealed FROM staff")
    assert all(row["totp_secret_sealed"] is None for row in rows)


async def test_removing_ones_own_second_factor_needs_a_current_code(
    console: AsyncTestClient[Any], app: Litestar, clean_db: str
) -> None:
    make_staff(app.state.container, "ann@example.com", StaffRole.SERVICE, client=console)
    await console_login(console, "ann@example.com")
    secret, sealed, page = await _offer(console)
    code = pyotp.TOTP(secret).now()
    await console.post(
        "/console/account/second-factor/confirm",
        data={"_csrf": csrf_of(page), "sealed": sealed, "code": code},
    )
    page_text = (await console.get("/console/account")).text

    wrong = await console.post(
        "/console/account/second-factor/remove", data={"_csrf": csrf_of(page_text), "code": "1"}
    )
    right = await console.post(
        "/console/account/second-factor/remove",
        data={"_csrf": csrf_of(page_text), "code": pyotp.TOTP(secret).now()},
    )

    assert wrong.status_code == 422
    assert right.status_code == 200
    [row] = await _rows(clean_db, "SELECT totp_secret_sealed FROM staff")
    assert row["totp_secret_sealed"] is None
    actions = [r["action"] for r in await _rows(clean_db, "SELECT action FROM audit_log")]
    assert "staff.second_factor_remove" in actions


async def test_an_owner_resets_another_members_second_factor_and_ends_his_sessions(
    console: AsyncTestClient[Any], app: Litestar, clean_db: str
) -> None:
    container: Container = app.state.container
    make_staff(container, "boss@example.com", StaffRole.OWNER, client=console)
    make_staff(container, "ann@example.com", StaffRole.SERVICE, client=console)
    await console_login(console, "ann@example.com")
    secret, sealed, page = await _offer(console)
    await console.post(
        "/console/account/second-factor/confirm",
        data={"_csrf": csrf_of(page), "sealed": sealed, "code": pyotp.TOTP(secret).now()},
    )
    ann_session = dict(console.cookies)
    console.cookies.clear()
    await console_login(console, "boss@example.com")
    staff_page = await console.get("/console/staff")
    ann = await _staff_id(clean_db, "ann@example.com")

    reset = await console.post(
        f"/console/staff/{ann}/second-factor/reset", data={"_csrf": csrf_of(staff_page.text)}
    )

    assert reset.status_code == 200
    [row] = await _rows(clean_db, "SELECT totp_secret_sealed FROM staff WHERE email LIKE 'ann%'")
    assert row["totp_secret_sealed"] is None
    [audit] = await _rows(
        clean_db, "SELECT actor FROM audit_log WHERE action = 'staff.second_factor_reset'"
    )
    assert audit["actor"] == "staff:boss@example.com"
    console.cookies.clear()
    for name, value in ann_session.items():
        console.cookies.set(name, value, path="/console")
    assert (await console.get("/console")).status_code == 303  # her session has ended
    console.cookies.clear()
    assert (await console_login(console, "ann@example.com")).headers["location"] == "/console"


async def test_an_owner_issues_a_new_set_password_link_that_works(
    console: AsyncTestClient[Any], app: Litestar, clean_db: str
) -> None:
    container: Container = app.state.container
    make_staff(container, "boss@example.com", StaffRole.OWNER, client=console)
    make_staff(container, "ann@example.com", StaffRole.SERVICE, client=console)
    await console_login(console, "boss@example.com")
    staff_page = await console.get("/console/staff")
    ann = await _staff_id(clean_db, "ann@example.com")

    issued = await console.post(
        f"/console/staff/{ann}/link", data={"_csrf": csrf_of(staff_page.text)}
    )

    assert issued.status_code == 200
    found = _LINK.search(issued.text)
    assert found
    assert "ann@example.com" in issued.text
    token = found.group(1).split("token=")[1]
    console.cookies.clear()
    form = await console.get(f"/console/set-password?token={token}")
    done = await console.post(
        "/console/set-password",
        data={
            "_csrf": csrf_of(form.text),
            "token": token,
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert done.status_code == 303
    assert (await console_login(console, "ann@example.com", PASSWORD)).status_code == 401
    ok = await console_login(console, "ann@example.com", "a brand new passphrase")
    assert ok.headers["location"] == "/console"
    [audit] = await _rows(
        clean_db,
        "SELECT actor FROM audit_log WHERE action = 'staff.set_password_link' "
        "AND actor LIKE 'staff:%'",
    )
    assert audit["actor"] == "staff:boss@example.com"


@pytest.mark.parametrize("action", ["link", "second-factor/reset"])
async def test_a_non_owner_cannot_help_with_another_account(
    console: AsyncTestClient[Any], app: Litestar, clean_db: str, action: str
) -> None:
    container: Container = app.state.container
    make_staff(container, "ann@example.com", StaffRole.SERVICE, client=console)
    make_staff(container, "max@example.com", StaffRole.MARKETING, client=console)
    await console_login(console, "max@example.com")
    page = await console.get("/console/account")
    ann = await _staff_id(clean_db, "ann@example.com")

    refused = await console.post(
        f"/console/staff/{ann}/{action}", data={"_csrf": csrf_of(page.text)}
    )

    assert refused.status_code == 403
