"""Bearer-token guards: 401 when the token is missing or bad, 403 when the role is wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from adapters.http.problems import forbidden, unauthenticated
from adapters.http.tokens import InvalidToken
from app.principal import Principal, Role

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]
SECURITY: list[dict[str, list[str]]] = [{"BearerToken": []}]


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


def require_role(role: Role) -> Guard:
    # Async so that Litestar calls it on the event loop instead of handing every request's
    # token check to a worker thread.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await authenticate(connection)
        if principal.role is not role:
            raise forbidden(f"this operation needs a {role.value} token")
        connection.state.principal = principal

    guard.__name__ = f"require_{role.value}"
    return guard


def current_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal: Principal = request.state.principal
    return principal
