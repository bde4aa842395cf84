"""Console pages of the owner (issue #18): the audit log with filters, and the stores and
their terminals (deactivate, rotate the secret: the new secret is shown once).

The audit log is the report port /v1/admin/audit-log reads (``audit_log``); terminals go
through ``deactivate_terminal`` and ``rotate_terminal_secret``, as the API's.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from adapters.http.console.controller import _formats, _page, _program
from adapters.http.console.paging import Pager, int_or_none
from app import transactions
from app.container import Container
from app.reports import AuditQuery
from app.use_cases.staff import actor_of
from app.use_cases.stores import (
    DeactivateTerminal,
    RotateTerminalSecret,
    deactivate_terminal,
    list_stores,
    list_terminals,
    rotate_terminal_secret,
)
from domain.errors import DomainError
from domain.staff import StaffMember

PAGE = 50
LISTED = 200


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


class OwnerPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/audit", operation_id="console.audit")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
        actor: FromQuery[str] = "",
        action: FromQuery[str] = "",
        entity: FromQuery[str] = "",
        first_day: FromQuery[str] = "",
        last_day: FromQuery[str] = "",
    ) -> Template:
        """Every audited change, newest first, filtered; pages by the entry id (the cursor is
        the id of the last entry shown: the next page holds older ones)."""
        program = await _program(container)
        pager = Pager.of(request.url.path, dict(request.query_params))
        before = int_or_none(pager.after) or 0
        filters = {
            "actor": actor.strip()[:200],
            "action": action.strip()[:100],
            "entity": entity.strip()[:100],
            "first_day": first_day[:10],
            "last_day": last_day[:10],
        }
        entries = await container.reports.audit_log(
            AuditQuery(
                zone=program.time_zone,
                actor=filters["actor"] or None,
                action=filters["action"] or None,
                entity=filters["entity"] or None,
                first_day=_day(first_day[:10]),
                last_day=_day(last_day[:10]),
                before_id=before if before > 0 else None,
                limit=PAGE + 1,
            )
        )
        return _page(
            request,
            "audit.html",
            _formats(request, program),
            entries=entries[:PAGE],
            filters=filters,
            pager=pager.followed_by(entries[PAGE - 1].id if len(entries) > PAGE else None),
        )

    @get("/stores", operation_id="console.stores")
    async def stores(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _stores_page(request, container)

    @post("/terminals/{terminal_id:uuid}/deactivate", operation_id="console.terminals.deactivate")
    async def deactivate(
        self,
        request: Request[Any, Any, Any],
        terminal_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        staff: StaffMember = request.state.staff
        command = DeactivateTerminal(terminal_id, actor_of(staff))
        try:
            await transactions.write(
                container.uow,
                lambda uow: deactivate_terminal(command, uow, clock=container.clock),
            )
        except DomainError:
            return await _stores_page(request, container, 404, refused=True)
        return await _stores_page(request, container, deactivated=terminal_id)

    @post("/terminals/{terminal_id:uuid}/rotate", operation_id="console.terminals.rotate")
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        terminal_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        """A new secret, shown on this answer only (only its hash is kept)."""
        staff: StaffMember = request.state.staff
        command = RotateTerminalSecret(terminal_id, actor_of(staff))
        try:
            rotated = await transactions.write(
                container.uow,
                lambda uow: rotate_terminal_secret(command, uow, random=container.random),
            )
        except DomainError:
            return await _stores_page(request, container, 409, refused=True)
        return await _stores_page(request, container, rotated=rotated)


async def _stores_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    **context: Any,
) -> Template:
    stores = await container.read(lambda uow: list_stores(uow, after=None, limit=LISTED))
    terminals = await container.read(
        lambda uow: list_terminals(uow, store_id=None, after=None, limit=LISTED)
    )
    by_store: dict[UUID, list[Any]] = {}
    for terminal in terminals:
        by_store.setdefault(terminal.store_id, []).append(terminal)
    program = await _program(container)
    return _page(
        request,
        "stores.html",
        _formats(request, program),
        status_code,
        stores=stores,
        by_store=by_store,
        **context,
    )
