"""The console's guard: the session cookie, the permission table and the CSRF token.

Sessions are server-side (staff_sessions in PostgreSQL, domain/staff.py); the cookie holds
only a random id: HttpOnly, SameSite=Strict, path /console, Secure over HTTPS or when
LOYALTY_CONSOLE_SECURE_COOKIES is on (behind a TLS-terminating proxy).

CSRF: a synchronizer token bound to the server-side session, HMAC(key, session id), sent in
every form (`_csrf`) and by htmx in an `X-CSRF-Token` header, checked on every request that
is not GET/HEAD/OPTIONS. A session id is unguessable and never readable by script, so neither
is its token; and unlike a double-submit cookie, a cookie planted by a sibling sub-domain
cannot forge it. The public forms (login, TOTP, set-password) are bound the same way to a
random pre-login cookie, so an attacker cannot log a victim in as himself either. Litestar's
CSRFConfig was not used: it is application-wide middleware that would also run on every /v1
API request (whose bearer tokens need no CSRF protection) and needs a bypass list for them.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from adapters.http.permissions import operation_of
from app.permissions import OPERATIONS, allows
from app.settings import Settings
from app.use_cases.staff import StaffPorts, session_member
from domain.staff import StaffMember

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE_PATH = "/console"


class LoginRequired(Exception):
    """No live session: the console sends the browser to its login page."""


class ConsoleForbidden(Exception):
    """The staff member's role lacks the operation's permission (or it is not in the table)."""


class CsrfRefused(Exception):
    """A state-changing request without the right CSRF token."""


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.jwt_secret.encode(), b"loyalty/console-csrf", hashlib.sha256).digest()


def csrf_token(settings: Settings, bound_to: str, purpose: str = "session") -> str:
    return hmac.new(_key(settings), f"{purpose}:{bound_to}".encode(), hashlib.sha256).hexdigest()


def secure_cookies(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> bool:
    return settings.console_secure_cookies or connection.url.scheme == "https"


def staff_ports(connection: ASGIConnection[Any, Any, Any, Any]) -> StaffPorts:
    ports: StaffPorts | None = connection.app.state.container.staff
    if ports is None:
        raise RuntimeError("the composition root did not wire the staff ports")
    return ports


async def _presented_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = connection.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await connection.form()  # type: ignore[attr-defined]
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def _check_csrf(connection: ASGIConnection[Any, Any, Any, Any], expected: str | None) -> None:
    presented = await _presented_token(connection)
    if not expected or not presented.isascii() or not hmac.compare_digest(presented, expected):
        raise CsrfRefused()


async def console_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Every console route: listed in the permission table, its caller's role allowed, and a
    CSRF token on whatever is not a safe method. Public pages (login) need no session."""
    operation = operation_of(handler)
    if operation not in OPERATIONS:
        raise ConsoleForbidden()
    settings: Settings = connection.app.state.container.settings
    unsafe = connection.scope.get("method", "GET") not in SAFE_METHODS
    if OPERATIONS[operation] is None:
        if unsafe:
            nonce = connection.cookies.get(LOGIN_COOKIE)
            await _check_csrf(connection, csrf_token(settings, nonce, "login") if nonce else None)
        return
    session_id = connection.cookies.get(SESSION_COOKIE)
    member: StaffMember | None = None
    if session_id and len(session_id) <= 128:
        member = await session_member(
            session_id, connection.app.state.container.uow, staff_ports(connection)
        )
    if member is None or session_id is None:
        raise LoginRequired()
    if not allows(member.role, operation):
        raise ConsoleForbidden()
    if unsafe:
        await _check_csrf(connection, csrf_token(settings, session_id))
    connection.state.staff = member
    connection.state.csrf = csrf_token(settings, session_id)
