"""The console's security (issue #18, item 1) through the HTTP app, without a browser."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.http.console.security import LOGIN_COOKIE, SESSION_COOKIE
from adapters.http.permissions import operation_of
from app.container import Container
from app.permissions import OPERATIONS, allows
from app.use_cases.staff import (
    ChangeStaffRole,
    EnrolSecondFactor,
    change_role,
    enrol_second_factor,
)
from domain.staff import StaffRole
from tests.api.client import Api, bearer
from tests.support.console import PASSWORD, console_login, csrf_of, make_staff, on_app


@pytest.fixture
def service(client: AsyncTestClient[Any], app: Litestar) -> Container:
    """The app's ports; use cases on them run on the app's loop through `on_app`."""
    return _container(app)


@pytest.fixture
async def console(client: AsyncTestClient[Any], api: Api) -> AsyncIterator[AsyncTestClient[Any]]:
    client.cookies.clear()
    client.follow_redirects = False
    try:
        yield client
    finally:
        client.follow_redirects = True
        client.cookies.clear()


def _container(app: Litestar) -> Container:
    container: Container = app.state.container
    return container


def test_every_admin_and_console_route_is_in_the_permission_table(app: Litestar) -> None:
    missing = []
    admin_routes = 0
    for route in app.routes:
        if not route.path.startswith(("/v1/admin", "/console")):
            continue
        for handler in getattr(route, "route_handlers", []):
            if set(handler.http_methods) == {"OPTIONS"}:
                continue  # Litestar's own answer to OPTIONS, on every path
            operation = operation_of(handler)
            if operation not in OPERATIONS:
                missing.append(f"{route.path} ({operation or 'no operation id'})")
            elif route.path.startswith("/v1/admin"):
                admin_routes += 1
                # An admin route is never public.
                assert OPERATIONS[operation] is not None, route.path
    assert missing == [], "add these to app/permissions.py OPERATIONS: " + ", ".join(missing)
    assert admin_routes >= 30


async def test_a_role_refused_an_admin_operation_gets_403_from_the_server(
    client: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    tokens = _container(app).tokens
    marketing = tokens.issue_admin_token("m@example.com", staff_role=StaffRole.MARKETING).token  # type: ignore[attr-defined]
    analyst = tokens.issue_admin_token("a@example.com", staff_role=StaffRole.ANALYST).token  # type: ignore[attr-defined]
    owner = tokens.issue_admin_token("o@example.com").token  # type: ignore[attr-defined]
    headers = {"Idempotency-Key": "k-forged-1"}
    forged = await client.put("/v1/admin/program", json={}, headers={**bearer(analyst), **headers})
    assert forged.status_code == 403
    assert forged.json()["code"] == "forbidden"
    refused = await client.post(
        "/v1/admin/stores",
        json={"code": "S1", "name": "x"},
        headers={**bearer(marketing), **headers},
    )
    assert refused.status_code == 403
    assert (await client.get("/v1/admin/program", headers=bearer(analyst))).status_code == 200
    assert (
        await client.get("/v1/admin/coupon-templates", headers=bearer(marketing))
    ).status_code == 200
    assert (await client.get("/v1/admin/reports/rfm", headers=bearer(marketing))).status_code != 403
    assert (await client.get("/v1/admin/program", headers=bearer(owner))).status_code == 200


async def test_an_admin_token_without_a_staff_role_is_an_owners(
    client: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    import jwt

    container = _container(app)
    settings = container.settings  # tokens only
    now = datetime.now(UTC)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "old-admin",
        "role": "admin",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
    }
    token = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    assert (await client.get("/v1/admin/program", headers=bearer(token))).status_code == 200
    claims["staff_role"] = "janitor"
    bad = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    assert (await client.get("/v1/admin/program", headers=bearer(bad))).status_code == 401


async def test_each_role_logs_in_and_sees_only_its_pages(
    console: AsyncTestClient[Any], app: Litestar, service: Container
) -> None:
    container = service
    pages = {
        "/console": "console.dashboard",
        "/console/members": "console.members.search",
        "/console/staff": "console.staff.list",
    }
    for role in StaffRole:
        console.cookies.clear()
        email = f"{role.value}@example.com"
        make_staff(container, email, role, client=console)
        answer = await console_login(console, email)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/console"
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie or "samesite=strict" in cookie.lower()
        for path, operation in pages.items():
            status = (await console.get(path)).status_code
            assert status == (200 if allows(role, operation) else 403), (role, path, status)


async def test_login_failures_are_uniform(
    console: AsyncTestClient[Any], app: Litestar, service: Container
) -> None:
    container = service
    make_staff(container, "known@example.com", StaffRole.SERVICE, client=console)
    unknown = await console_login(console, "nobody@example.com")
    wrong = await console_login(console, "known@example.com", "wrong password 123")
    assert unknown.status_code == wrong.status_code == 401
    assert "E-mail, password or code is wrong." in unknown.text
    assert _without_csrf(unknown.text) == _without_csrf(wrong.text).replace(
        "known@example.com", "nobody@example.com"
    )
    assert SESSION_COOKIE not in console.cookies


async def test_a_wrong_totp_code_gets_the_same_refusal_and_the_right_one_logs_in(
    console: AsyncTestClient[Any], app: Litestar, service: Container
) -> None:
    container = service
    assert container.staff is not None
    make_staff(container, "two@example.com", StaffRole.OWNER, client=console)
    staff = container.staff

    async def enrol() -> Any:
        async with container.uow() as uow:
            done = await enrol_second_factor(
                EnrolSecondFactor("two@example.com", "test"), uow, staff
            )
            await uow.commit()
            return done

    enrolment = on_app(console, enrol)
    first = await console_login(console, "two@example.com")
    assert first.headers["location"] == "/console/totp"
    # A pending session authorises nothing.
    assert (await console.get("/console")).status_code == 303
    page = await console.get("/console/totp")
    wrong = await console.post(
        "/console/totp", data={"_csrf": csrf_of(page.text), "code": "000000"}
    )
    assert wrong.status_code == 401
    assert "E-mail, password or code is wrong." in wrong.text
    code = pyotp.TOTP(enrolment.secret).now()
    right = await console.post("/console/totp", data={"_csrf": csrf_of(page.text), "code": code})
    assert right.status_code == 303
    assert (await console.get("/console")).status_code == 200


async def test_login_is_rate_limited_per_email(
    console: AsyncTestClient[Any], app: Litestar, service: Container
) -> None:
    container = service
    make_staff(container, "limited@example.com", StaffRole.ANALYST, client=console)
    statuses = [
        (await console_login(console, "limited@example.com", "bad password 1234")).status_code
        for _ in range(container.settings.staff_logins_per_email[0] + 1)
    ]
    assert statuses[-1] == 429
    # Even the right password waits now.
    assert (await console_login(console, "limited@example.com")).status_code == 429


async def test_a_state_changing_request_without_the_csrf_token_is_refused(
    console: AsyncTestClient[Any], app: Litestar, service: Container
) -> None:
    container = service
    make_staff(container, "csrf@example.com", StaffRole.OWNER, client=console)
    assert (await console_login(console, "csrf@example.com")).status_code == 303
    no_token = await console.post("/console/logout", data={})
    wrong_token = await console.post("/console/logout", data={"_csrf": "0" * 64})
    assert no_token.status_code == wrong_token.status_code == 403
    assert (await console.get("/console")).status_code == 200  # still logged in
    # The login form is bound to its pre-login cookie too.
    console.cookies.delete(LOGIN_COOKIE)
    forged_login = await console.post(
        "/console/login", data={"email": "csrf@example.com", "password": PASSWORD}
    )
    assert forged_login.status_code == 403
    page = await console.get("/console")
    ok = await console.post("/console/logout", data={"_csrf": csrf_of(page.text)})
    assert ok.status_code == 303
    assert (await console.get("/console")).status_code == 303  # logged out


async def test_a_role_change_revokes_the_members_sessions(
    console: AsyncTestClient[Any], app: Litestar, service: Container
) -> None:
    container = service
    assert container.staff is not None
    make_staff(container, "moved@example.com", StaffRole.OWNER, client=console)
    assert (await console_login(console, "moved@example.com")).status_code == 303
    assert (await console.get("/console/staff")).status_code == 200
    staff = container.staff

    async def demote() -> None:
        async with container.uow() as uow:
            member = await staff.staff.get_by_email("moved@example.com")
            assert member is not None
            await change_role(ChangeStaffRole(member.id, StaffRole.ANALYST, "test"), uow, staff)
            await uow.commit()

    on_app(console, demote)
    assert (await console.get("/console")).status_code == 303  # to the login page
    assert (await console_login(console, "moved@example.com")).status_code == 303
    assert (await console.get("/console/staff")).status_code == 403


async def test_a_set_password_link_works_once(
    console: AsyncTestClient[Any], app: Litestar, service: Container
) -> None:
    from app.use_cases.staff import CreateStaff, create_staff

    container = service
    assert container.staff is not None
    staff = container.staff

    async def create() -> Any:
        async with container.uow() as uow:
            made = await create_staff(
                CreateStaff("new@example.com", StaffRole.SERVICE, "test"), uow, staff
            )
            await uow.commit()
            return made

    link = on_app(console, create)
    page = await console.get(f"/console/set-password?token={link.token}")
    form = {
        "_csrf": csrf_of(page.text),
        "token": link.token,
        "password": "a new password!",
        "confirm": "a new password!",
    }
    assert (await console.post("/console/set-password", data=form)).status_code == 303
    again = await console.post("/console/set-password", data=form)
    assert again.status_code == 410
    assert (await console_login(console, "new@example.com", "a new password!")).status_code == 303


async def test_staff_changes_are_audited_with_the_staff_member_as_actor(
    console: AsyncTestClient[Any], app: Litestar, service: Container, clean_db: str
) -> None:
    import asyncpg

    container = service
    make_staff(container, "audited@example.com", StaffRole.OWNER, client=console)
    await console_login(console, "audited@example.com")
    connection = await asyncpg.connect(clean_db)
    try:
        rows = await connection.fetch("SELECT actor, action FROM audit_log ORDER BY id")
    finally:
        await connection.close()
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("test", "staff.create"),
        ("test", "staff.set_password_link"),
        ("staff:audited@example.com", "staff.password_set"),
        ("staff:audited@example.com", "staff.login"),
    ]


async def test_a_members_name_is_shown_as_text(
    console: AsyncTestClient[Any], app: Litestar, service: Container, api: Api
) -> None:
    till = await api.open_till()
    member = await till.enrol("+8613800138001", name="<script>alert(1)</script>")
    make_staff(service, "svc@example.com", StaffRole.SERVICE, client=console)
    await console_login(console, "svc@example.com")
    found = await console.get("/console/members", params={"q": "+8613800138001"})
    page = await console.get(f"/console/members/{member['member_id']}")
    for html in (found.text, page.text):
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_pages_follow_the_browsers_language_and_the_switch(
    console: AsyncTestClient[Any], app: Litestar, service: Container
) -> None:
    chinese = await console.get("/console/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert 'lang="zh-Hans"' in chinese.text
    assert "登录" in chinese.text
    switched = await console.get(
        "/console/language", params={"lang": "en", "next": "/console/login"}
    )
    assert switched.status_code == 303
    english = await console.get("/console/login", headers={"Accept-Language": "zh-CN"})
    assert 'lang="en"' in english.text
    assert "Log in" in english.text
    away = await console.get("/console/language", params={"lang": "en", "next": "//evil.example"})
    assert away.headers["location"] == "/console"


def _without_csrf(html: str) -> str:
    import re

    return re.sub(r'value="[0-9a-f]{64}"', "", html)


async def test_an_owner_manages_staff_in_the_console_and_others_cannot(
    console: AsyncTestClient[Any], app: Litestar, service: Container, clean_db: str
) -> None:
    import asyncpg

    make_staff(service, "boss@example.com", StaffRole.OWNER, client=console)
    make_staff(service, "agent@example.com", StaffRole.SERVICE, client=console)
    # A service agent's valid session and CSRF token do not make it an owner.
    assert (await console_login(console, "agent@example.com")).status_code == 303
    page = await console.get("/console")
    forged = await console.post(
        "/console/staff",
        data={"_csrf": csrf_of(page.text), "email": "mole@example.com", "role": "owner"},
    )
    assert forged.status_code == 403
    agent_cookies = dict(console.cookies)
    console.cookies.clear()

    assert (await console_login(console, "boss@example.com")).status_code == 303
    token = csrf_of((await console.get("/console/staff")).text)
    created = await console.post(
        "/console/staff",
        data={
            "_csrf": token,
            "email": "New.Hire@example.com",
            "display_name": "New",
            "role": "analyst",
        },
    )
    assert created.status_code == 201
    link = re.search(r'id="set-password-link">([^<]+)<', created.text)
    assert link
    assert "/console/set-password?token=" in link.group(1)
    assert "mole@example.com" not in created.text

    agent = await _staff_id(clean_db, "agent@example.com")
    boss = await _staff_id(clean_db, "boss@example.com")
    demoted = await console.post(
        f"/console/staff/{agent}/role", data={"_csrf": token, "role": "analyst"}
    )
    assert demoted.status_code == 200
    self_change = await console.post(
        f"/console/staff/{boss}/role", data={"_csrf": token, "role": "analyst"}
    )
    assert self_change.status_code == 422
    # The demotion ended the agent's session.
    console.cookies.clear()
    for name, value in agent_cookies.items():
        console.cookies.set(name, value, path="/console")
    assert (await console.get("/console")).status_code == 303

    connection = await asyncpg.connect(clean_db)
    try:
        rows = await connection.fetch(
            "SELECT actor, action, details FROM audit_log WHERE actor = 'staff:boss@example.com'"
            " ORDER BY id"
        )
    finally:
        await connection.close()
    assert [r["action"] for r in rows] == [
        "staff.password_set",
        "staff.login",
        "staff.create",
        "staff.set_password_link",
        "staff.role_change",
    ]


async def _staff_id(url: str, email: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return str(await connection.fetchval("SELECT id FROM staff WHERE email = $1", email))
    finally:
        await connection.close()


class _CountingPasswords:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.verified = 0

    def hash(self, password: str) -> str:
        return str(self.inner.hash(password))

    def verify(self, stored: str, password: str) -> bool:
        self.verified += 1
        return bool(self.inner.verify(stored, password))

    def needs_rehash(self, stored: str) -> bool:
        return bool(self.inner.needs_rehash(stored))


async def test_an_unknown_email_costs_the_same_argon2_verification_as_a_wrong_password(
    console: AsyncTestClient[Any], app: Litestar, service: Container
) -> None:
    from dataclasses import replace

    make_staff(service, "timed@example.com", StaffRole.ANALYST, client=console)
    ports = service.staff
    assert ports is not None
    counting = _CountingPasswords(ports.passwords)
    service.staff = replace(ports, passwords=counting)
    try:
        await console_login(console, "nobody.here@example.com")
        unknown = counting.verified
        await console_login(console, "timed@example.com", "not the password 1")
        wrong = counting.verified - unknown
    finally:
        service.staff = ports
    assert unknown == wrong == 1
