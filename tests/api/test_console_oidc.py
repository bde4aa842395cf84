"""Staff login through an OpenID Connect provider (issue #18): the console against a real
provider served over HTTP on this machine (tests/support/oidc_provider.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.http.console.oidc_pages import FLOW_COOKIE
from adapters.http.console.security import SESSION_COOKIE
from adapters.oidc import OidcProvider
from app.container import Container
from app.use_cases.staff import DisableStaff, disable_staff
from domain.staff import StaffRole
from tests.api.client import Api
from tests.support.console import csrf_of, make_staff, on_app
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, LocalProvider, serve_oidc_provider


@pytest.fixture
def idp(app: Litestar, api: Api) -> Iterator[LocalProvider]:
    """The running app switched to login through a local identity provider for one test."""
    container: Container = app.state.container
    with serve_oidc_provider() as provider:
        container.identity_provider = OidcProvider(
            provider.issuer, CLIENT_ID, CLIENT_SECRET, clock=container.clock
        )
        try:
            yield provider
        finally:
            container.identity_provider = None


@pytest.fixture
async def console(client: AsyncTestClient[Any], api: Api) -> AsyncIterator[AsyncTestClient[Any]]:
    client.cookies.clear()
    client.follow_redirects = False
    try:
        yield client
    finally:
        client.follow_redirects = True
        client.cookies.clear()


async def _start(console: AsyncTestClient[Any]) -> str:
    """Presses the login page's button; the provider's authorization URL."""
    page = await console.get("/console/login")
    assert 'id="oidc-login"' in page.text
    started = await console.post("/console/oidc/start", data={"_csrf": csrf_of(page.text)})
    assert started.status_code == 303, started.text
    return started.headers["location"]


def _authorize(url: str) -> dict[str, str]:
    """The provider logs its user in and sends the browser back: the callback's query."""
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302
    back = urlparse(answer.headers["location"])
    assert back.path == "/console/oidc/callback"
    return {k: v[0] for k, v in parse_qs(back.query).items()}


async def _login(console: AsyncTestClient[Any], **query: str) -> httpx.Response:
    back = _authorize(await _start(console))
    back.update(query)
    return await console.get("/console/oidc/callback", params=back)


async def _audit(db_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetch(
            "SELECT actor, action, details FROM audit_log WHERE action = 'staff.login'"
        )
    finally:
        await connection.close()


async def test_a_staff_member_logs_in_through_the_identity_provider(
    console: AsyncTestClient[Any], app: Litestar, idp: LocalProvider, clean_db: str
) -> None:
    make_staff(app.state.container, "owner@example.test", StaffRole.OWNER, client=console)

    url = await _start(console)
    sent = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    back = _authorize(url)
    done = await console.get("/console/oidc/callback", params=back)

    assert sent["code_challenge_method"] == "S256"
    assert len(sent["code_challenge"]) == 43
    assert len(sent["state"]) >= 32
    assert len(sent["nonce"]) >= 32
    assert sent["client_id"] == CLIENT_ID
    assert done.status_code == 200, done.text
    assert 'http-equiv="refresh" content="0; url=/console"' in done.text
    assert console.cookies.get(SESSION_COOKIE)
    dashboard = await console.get("/console")
    assert dashboard.status_code == 200
    assert "/console/staff" in dashboard.text  # the owner's navigation: a real session
    [login] = await _audit(clean_db)
    assert login["actor"] == "staff:owner@example.test"
    assert '"method": "oidc"' in login["details"]


async def test_the_same_code_flow_cannot_be_replayed(
    console: AsyncTestClient[Any], app: Litestar, idp: LocalProvider
) -> None:
    make_staff(app.state.container, "owner@example.test", StaffRole.OWNER, client=console)
    back = _authorize(await _start(console))
    assert (await console.get("/console/oidc/callback", params=back)).status_code == 200
    console.cookies.clear()

    again = await console.get("/console/oidc/callback", params=back)

    assert again.status_code == 401


async def test_a_callback_with_another_state_is_refused(
    console: AsyncTestClient[Any], app: Litestar, idp: LocalProvider
) -> None:
    make_staff(app.state.container, "owner@example.test", StaffRole.OWNER, client=console)

    refused = await _login(console, state="forged-state")

    assert refused.status_code == 401
    assert console.cookies.get(SESSION_COOKIE) in (None, "")
    assert idp.token_requests == 0  # refused before the code was exchanged


async def test_a_callback_without_the_flow_cookie_is_refused(
    console: AsyncTestClient[Any], app: Litestar, idp: LocalProvider
) -> None:
    make_staff(app.state.container, "owner@example.test", StaffRole.OWNER, client=console)
    back = _authorize(await _start(console))
    console.cookies.delete(FLOW_COOKIE, path="/console/oidc")

    refused = await console.get("/console/oidc/callback", params=back)

    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("claims", "forged"),
    [
        ({"nonce": "another-login"}, False),
        ({}, True),
        ({"exp": datetime.now(UTC) - timedelta(minutes=5)}, False),
        ({"aud": "another-client"}, False),
        ({"iss": "http://evil.example.test"}, False),
        ({"email_verified": False}, False),
    ],
    ids=["wrong-nonce", "bad-signature", "expired", "wrong-audience", "wrong-issuer", "unverified"],
)
async def test_an_id_token_failing_a_check_is_refused(
    console: AsyncTestClient[Any],
    app: Litestar,
    idp: LocalProvider,
    clean_db: str,
    claims: dict[str, Any],
    forged: bool,
) -> None:
    make_staff(app.state.container, "owner@example.test", StaffRole.OWNER, client=console)
    idp.claims = claims
    idp.sign_with = idp.other_key() if forged else None

    refused = await _login(console)

    assert refused.status_code == 401
    assert "identity provider" in refused.text
    assert (await console.get("/console")).status_code == 303  # no session
    assert await _audit(clean_db) == []


async def test_an_e_mail_without_a_staff_account_is_refused(
    console: AsyncTestClient[Any], app: Litestar, idp: LocalProvider
) -> None:
    make_staff(app.state.container, "owner@example.test", StaffRole.OWNER, client=console)
    idp.login_as = "stranger@example.test"

    refused = await _login(console)

    assert refused.status_code == 401
    assert (await console.get("/console")).status_code == 303


async def test_a_disabled_staff_member_is_refused(
    console: AsyncTestClient[Any], app: Litestar, idp: LocalProvider
) -> None:
    container: Container = app.state.container
    make_staff(container, "gone@example.test", StaffRole.SERVICE, client=console)
    ports = container.staff
    assert ports is not None

    async def disable() -> None:
        async with container.uow() as uow:
            member = await ports.staff.get_by_email("gone@example.test")
            assert member is not None
            await disable_staff(DisableStaff(member.id, "test"), uow, ports)
            await uow.commit()

    on_app(console, disable)
    idp.login_as = "gone@example.test"

    refused = await _login(console)

    assert refused.status_code == 401
    assert (await console.get("/console")).status_code == 303


async def test_allowed_domains_refuse_an_e_mail_of_another_domain(
    console: AsyncTestClient[Any], app: Litestar, idp: LocalProvider
) -> None:
    container: Container = app.state.container
    container.identity_provider = OidcProvider(
        idp.issuer, CLIENT_ID, CLIENT_SECRET, clock=container.clock, allowed_domains=("shop.cn",)
    )
    make_staff(container, "owner@example.test", StaffRole.OWNER, client=console)

    refused = await _login(console)

    assert refused.status_code == 401


async def test_without_provider_settings_the_login_page_has_no_button(
    console: AsyncTestClient[Any], api: Api
) -> None:
    page = await console.get("/console/login")
    started = await console.post("/console/oidc/start", data={"_csrf": csrf_of(page.text)})

    assert 'id="oidc-login"' not in page.text
    assert started.status_code == 404


async def test_starting_without_the_login_csrf_token_is_refused(
    console: AsyncTestClient[Any], idp: LocalProvider
) -> None:
    await console.get("/console/login")

    refused = await console.post("/console/oidc/start", data={})

    assert refused.status_code == 403
