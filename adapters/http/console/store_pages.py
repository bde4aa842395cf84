"""Console pages of stores and terminals, beside the list in owner_pages (issue #18): a store
created, a terminal created with its secret shown on that answer only (only its hash is
kept), as ``createStore`` and ``createTerminal`` do."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.response import Template

from adapters.http.console.controller import Form
from adapters.http.console.forms import FieldError, fault_of, text
from adapters.http.console.i18n import N_
from adapters.http.console.owner_pages import _stores_page
from app import transactions
from app.container import Container
from app.use_cases.staff import actor_of
from app.use_cases.stores import CreateStore, CreateTerminal, create_store, create_terminal
from domain.errors import DomainError
from domain.staff import StaffMember


class StorePages(Controller):
    path = "/console"
    include_in_schema = False

    @post("/stores", operation_id="console.stores.create")
    async def create_store(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        staff: StaffMember = request.state.staff
        try:
            command = CreateStore(text(data, "code", 64), text(data, "name", 200), actor_of(staff))
            store = await transactions.write(
                container.uow,
                lambda uow: create_store(command, uow, clock=container.clock, ids=container.ids),
            )
        except (FieldError, DomainError) as refused:
            status = 409 if getattr(refused, "code", "") == "store_exists" else 422
            return await _stores_page(
                request,
                container,
                status,
                fault=fault_of(refused, N_("Store name")),
                exists=status == 409,
            )
        return await _stores_page(request, container, 201, store_created=store)

    @post("/terminals", operation_id="console.terminals.create")
    async def create_terminal(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        """A new terminal; its secret is on this answer only: entered in the till now."""
        staff: StaffMember = request.state.staff
        try:
            try:
                store_id = UUID(text(data, "store_id", 40))
            except ValueError:
                raise FieldError("store_id") from None
            command = CreateTerminal(store_id, text(data, "code", 64), actor_of(staff))
            created = await transactions.write(
                container.uow,
                lambda uow: create_terminal(
                    command, uow, clock=container.clock, ids=container.ids, random=container.random
                ),
            )
        except (FieldError, DomainError) as refused:
            status = 409 if getattr(refused, "code", "") == "terminal_exists" else 422
            return await _stores_page(
                request,
                container,
                status,
                fault=fault_of(refused, N_("Store name")),
                exists=status == 409,
            )
        return await _stores_page(request, container, 201, terminal_created=created)
