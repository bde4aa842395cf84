from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.admin import TerminalIn, TerminalOut
from adapters.http.schemas.problem import problems
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.stores import CreateTerminal, create_terminal


class AdminTerminalsController(Controller):
    path = "/terminals"
    tags = ["admin"]

    @post(
        operation_id="createTerminal",
        summary="Register a POS terminal; its secret is shown once",
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
            t = new.terminal
            return 201, TerminalOut(
                terminal_id=t.id,
                store_id=t.store_id,
                code=t.code,
                created_at=t.created_at,
                secret=new.secret,
            )

        return await respond_idempotently(request, container, principal, idempotency_key, action)
