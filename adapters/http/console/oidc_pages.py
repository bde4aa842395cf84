"""Staff login through the identity provider (OpenID Connect code flow, docs/console.md).

`POST /console/oidc/start` (the login page's button, bound to the pre-login CSRF cookie)
sends the browser to the provider with a fresh state, nonce and PKCE challenge; the three
secrets travel in a short-lived cookie (`console_oidc`: HttpOnly, path /console/oidc, 10
minutes, HMAC-signed under a key derived from the service secret, so it cannot be forged or
altered). It is SameSite=Lax, not Strict: the provider's redirect back is a cross-site
navigation, on which a Strict cookie would not be sent.

`GET /console/oidc/callback` checks the state against the cookie, then the use case
exchanges the code and verifies the ID token (adapters/oidc.py) and opens the same
server-side session a password opens. Its answer is a page that moves on to /console by
itself: the session cookie is SameSite=Strict, and a redirect straight from the provider's
navigation would still count as cross-site, arriving without it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from adapters.http.console.controller import _ip, _public_page, _session_cookie
from adapters.http.console.security import secure_cookies, staff_ports
from app.container import Container
from app.settings import Settings
from app.use_cases.staff import LogInWithIdentity, log_in_with_identity
from domain.errors import RateLimited
from domain.staff import IdentityRefused, StaffLoginFailed

FLOW_COOKIE = "console_oidc"
FLOW_PATH = "/console/oidc"
FLOW_SECONDS = 600
log = structlog.get_logger("loyalty.console")


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.jwt_secret.encode(), b"loyalty/console-oidc", hashlib.sha256).digest()


def _sign(settings: Settings, flow: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(flow, separators=(",", ":")).encode()).decode()
    tag = hmac.new(_key(settings), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{tag}"


def _opened(settings: Settings, value: str) -> dict[str, Any] | None:
    body, _, tag = value.partition(".")
    expected = hmac.new(_key(settings), body.encode(), hashlib.sha256).hexdigest()
    if not tag.isascii() or not hmac.compare_digest(tag, expected):
        return None
    try:
        flow = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    if not isinstance(flow, dict) or float(flow.get("exp", 0)) < time.time():
        return None
    return flow


def _flow_cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    return Cookie(
        key=FLOW_COOKIE,
        value=value,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, request.app.state.container.settings),
        max_age=max_age,
    )


def redirect_uri(settings: Settings) -> str:
    return f"{settings.console_url}/oidc/callback"


class OidcPages(Controller):
    path = "/console/oidc"
    include_in_schema = False

    @post("/start", operation_id="console.oidc.start")
    async def start(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Response[Any]:
        provider = container.identity_provider
        if provider is None:
            return _public_page(request, "login.html", 404)
        try:
            started = await provider.authorization_request(redirect_uri(container.settings))
        except IdentityRefused as refused:
            log.warning("console.oidc_unavailable", reason=refused.reason)
            return _public_page(request, "login.html", 502, provider_down=True)
        flow = {
            "state": started.state,
            "nonce": started.nonce,
            "verifier": started.code_verifier,
            "exp": time.time() + FLOW_SECONDS,
        }
        cookie = _flow_cookie(request, _sign(container.settings, flow), FLOW_SECONDS)
        return Redirect(started.url, status_code=303, cookies=[cookie])

    @get("/callback", operation_id="console.oidc.callback")
    async def callback(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
    ) -> Response[Any] | Template:
        # `state` is a name Litestar reserves for handler arguments: read from the query.
        code = request.query_params.get("code", "")
        state = request.query_params.get("state", "")[:256]
        provider = container.identity_provider
        cleared = _flow_cookie(request, "", 0)
        flow = _opened(container.settings, request.cookies.get(FLOW_COOKIE, "")[:2048])
        if provider is None or flow is None or not code or not _same(state, flow.get("state")):
            log.warning("console.oidc_refused", reason="no flow, no code or another state")
            return _failed(request, cleared)
        try:
            opened = await log_in_with_identity(
                LogInWithIdentity(
                    code=code[:2048],
                    code_verifier=str(flow["verifier"]),
                    nonce=str(flow["nonce"]),
                    redirect_uri=redirect_uri(container.settings),
                    client_ip=_ip(request, container),
                ),
                container.uow,
                staff_ports(request),
                provider,
            )
        except StaffLoginFailed as failed:
            log.warning("console.oidc_refused", reason=str(failed))
            return _failed(request, cleared)
        except RateLimited as limited:
            page = _public_page(
                request, "login.html", 429, limited=True, retry=limited.retry_after_seconds
            )
            page.cookies.append(cleared)
            return page
        target = "/console/totp" if opened.second_factor_pending else "/console"
        ttl = 300 if opened.second_factor_pending else 12 * 3600
        page = _public_page(request, "oidc_done.html", target=target)
        page.cookies.extend([_session_cookie(request, opened.session_id, ttl), cleared])
        return page


def _same(presented: str, expected: object) -> bool:
    return (
        isinstance(expected, str)
        and presented.isascii()
        and hmac.compare_digest(presented.encode(), expected.encode())
    )


def _failed(request: Request[Any, Any, Any], cleared: Cookie) -> Template:
    page = _public_page(request, "login.html", 401, oidc_failed=True)
    page.cookies.append(cleared)
    return page
