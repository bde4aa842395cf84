from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.admin import (
    TerminalDeactivationIn,
    TerminalIn,
    TerminalOut,
    TerminalPageOut,
)
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.stores import (
    CreateTerminal,
    DeactivateTerminal,
    RotateTerminalSecret,
    create_terminal,
    deactivate_terminal,
    list_terminals,
    rotate_terminal_secret,
)

SHOWN_ONCE = (
    " The secret is in this answer only: the service keeps its hash, and a retry with the same "
    "Idempotency-Key answers the same terminal with `secret: null` and "
    "`secret_withheld: true`. A lost secret is replaced by rotating it."
)


def _withheld(answer: TerminalOut) -> TerminalOut:
    return answer.withheld()


class AdminTerminalsController(Controller):
    path = "/terminals"
    tags = ["admin"]

    @post(
        operation_id="createTerminal",
        summary="Register a POS terminal; its secret is shown once",
        description="Audited." + SHOWN_ONCE,
        status_code=201,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TerminalIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[TerminalOut]:
        async def action(uow: UnitOfWork) -> tuple[int, TerminalOut]:
            new = await create_terminal(
                CreateTerminal(store_id=data.store_id, code=data.code, actor=principal.actor),
                uow,
                clock=container.clock,
                ids=container.ids,
                random=container.random,
            )
            return 201, TerminalOut.of(new.terminal, new.secret)

        return await respond_idempotently(
            request, container, principal, idempotency_key, action, remembered=_withheld
        )

    @get(
        operation_id="listTerminals",
        summary="Terminals, of one store or all, active and deactivated (never a secret)",
        responses=problems(401, 403, 404, 422),
    )
    async def index(
        self,
        container: NamedDependency[Container],
        store_id: Annotated[UUID | None, QueryParameter(description="one store's only")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> TerminalPageOut:
        after = decode_after(cursor)
        terminals = await transactions.read(
            container.uow,
            lambda uow: list_terminals(uow, store_id=store_id, after=after, limit=limit),
        )
        return TerminalPageOut(
            items=[TerminalOut.of(t) for t in terminals],
            next_cursor=next_cursor([t.id for t in terminals], limit),
        )

    @post(
        "/{terminal_id:uuid}/deactivate",
        operation_id="deactivateTerminal",
        summary="Deactivate a terminal for good: its tokens are refused from the next request",
        description="Audited, with the optional reason. The terminal can no longer log in, "
        "and every token issued to it gets 401 `unauthenticated` from its very next request "
        "on. Deactivating a deactivated terminal answers it as it is.",
        status_code=200,
        responses=problems(401, 403, 404, 422),
    )
    async def deactivate(
        self,
        request: Request[Any, Any, Any],
        terminal_id: FromPath[UUID],
        data: JSONBody[TerminalDeactivationIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[TerminalOut]:
        command = DeactivateTerminal(
            terminal_id=terminal_id, actor=principal.actor, reason=data.reason
        )

        async def action(uow: UnitOfWork) -> tuple[int, TerminalOut]:
            terminal = await deactivate_terminal(command, uow, clock=container.clock)
            return 200, TerminalOut.of(terminal)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @post(
        "/{terminal_id:uuid}/secret",
        operation_id="rotateTerminalSecret",
        summary="Replace a terminal's secret; the new one is shown once",
        description="Audited. The old secret can no longer log in, and tokens issued under "
        "it get 401 `unauthenticated` from their next request on: the till logs in again "
        "with the new secret. A deactivated terminal gets 409 `terminal_inactive`." + SHOWN_ONCE,
        status_code=200,
        responses=problems(401, 403, 404, 409),
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        terminal_id: FromPath[UUID],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[TerminalOut]:
        command = RotateTerminalSecret(terminal_id=terminal_id, actor=principal.actor)

        async def action(uow: UnitOfWork) -> tuple[int, TerminalOut]:
            new = await rotate_terminal_secret(command, uow, random=container.random)
            return 200, TerminalOut.of(new.terminal, new.secret)

        return await respond_idempotently(
            request, container, principal, idempotency_key, action, remembered=_withheld
        )
