"""The guard of every back-office operation: the /v1/admin API and the console's actions.

One check for both, against the one table of app/permissions.py: the operation (a route's
operation id) needs a permission, the caller's staff role must have it. An operation missing
from the table is refused to everyone (403), so a route added without its entry fails closed,
and tests/api/test_permissions.py fails until the entry exists.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from adapters.http.auth import authenticate
from adapters.http.problems import forbidden
from app.permissions import OPERATIONS, allows
from app.principal import Role
from domain.staff import StaffRole


def operation_of(handler: BaseRouteHandler) -> str:
    """The name the permission table knows a route by: its operation id."""
    operation = getattr(handler, "operation_id", None)
    return operation if isinstance(operation, str) else ""


def check_operation(role: StaffRole, handler: BaseRouteHandler) -> None:
    operation = operation_of(handler)
    if operation not in OPERATIONS:
        raise forbidden("this operation is not in the permission table")
    if not allows(role, operation):
        raise forbidden(f"the {role.value} role may not do this ({OPERATIONS[operation]})")


async def admin_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The /v1/admin area's check, before any parameter or body is parsed: 401 without a
    trustworthy token, 403 for a token that is not an admin's or whose staff role lacks the
    operation's permission."""
    principal = await authenticate(connection)
    if principal.role is not Role.ADMIN:
        raise forbidden("this operation needs a admin token")
    check_operation(principal.staff_role or StaffRole.OWNER, handler)
    connection.state.principal = principal
