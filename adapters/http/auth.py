"""Bearer-token checks: 401 when the token is missing or bad, 403 when the role is wrong."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.types import BeforeRequestHookHandler

from adapters.http.problems import forbidden, unauthenticated
from adapters.http.tokens import InvalidToken
from app.principal import Principal, Role
from app.use_cases.erased_members import refuse_erased_token
from app.use_cases.stores import refuse_stale_terminal_token

SECURITY: list[dict[str, list[str]]] = [{"BearerToken": []}]

# Set in a member route's `opt` when its use case reads the member row anyway and refuses an
# erased member's token itself (app.use_cases.erased_members.own_account): the read paths the
# app calls most then cost no extra query. Every other /v1/me route is checked here.
CHECKS_ERASURE_ITSELF = "checks_erasure_itself"


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise unauthenticated("an Authorization: Bearer token is required")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("the Authorization header must be 'Bearer <token>'")
    try:
        return await connection.app.state.container.tokens.authenticate(token.strip())  # type: ignore[no-any-return]
    except InvalidToken:
        raise unauthenticated("the token is invalid or has expired") from None


def require_role(role: Role) -> BeforeRequestHookHandler:
    """The check of an area's router: 401 without a trustworthy token, 403 for another role.

    A before-request hook rather than a guard: Litestar runs both before it parses the
    request's parameters and body (so bad input from a stranger is still 401), but it copies
    the route handler for every guard call, about 35 µs of the till's 500 µs lookup. A hook
    set on a router yields to one set on a controller or handler beneath it, so no controller
    sets one; tests/api/test_attacks.py checks every route of every area answers 401 and 403.
    """

    async def check(request: Request[Any, Any, Any]) -> None:
        principal = await authenticate(request)
        if principal.role is not role:
            raise forbidden(f"this operation needs a {role.value} token")
        if principal.member_id is not None and not request.route_handler.opt.get(
            CHECKS_ERASURE_ITSELF
        ):
            await _refuse_erased(request, principal.member_id)
        if principal.terminal_id is not None:
            await _refuse_stale_terminal(request, principal)
        request.state.principal = principal

    check.__name__ = f"require_{role.value}"
    return check


async def _refuse_erased(request: Request[Any, Any, Any], member_id: UUID) -> None:
    """A signature cannot tell that its member was erased since it was issued: that takes the
    database, on every request, whatever the token cache remembers."""
    reads = request.app.state.container.member_reads
    if reads is None:
        raise RuntimeError("the composition root did not wire the member reads")
    await refuse_erased_token(member_id, reads)


async def _refuse_stale_terminal(request: Request[Any, Any, Any], principal: Principal) -> None:
    """A deactivated terminal, or one whose secret was rotated, is refused on its very next
    request: the token cache remembers signatures, never the terminal's standing."""
    assert principal.terminal_id is not None
    await refuse_stale_terminal_token(
        principal.terminal_id,
        principal.credential_version,
        request.app.state.container.terminal_standing,
    )


def current_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal: Principal = request.state.principal
    return principal
