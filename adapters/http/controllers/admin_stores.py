from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.admin import StoreIn, StoreOut
from adapters.http.schemas.problem import problems
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.stores import CreateStore, create_store


class AdminStoresController(Controller):
    path = "/stores"
    tags = ["admin"]

    @post(
        operation_id="createStore",
        summary="Open a store",
        status_code=201,
        responses=problems(401, 403, 409, 422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[StoreIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[StoreOut]:
        async def action(uow: UnitOfWork) -> tuple[int, StoreOut]:
            store = await create_store(
                CreateStore(code=data.code, name=data.name, actor=principal.actor),
                uow,
                clock=container.clock,
                ids=container.ids,
            )
            return 201, StoreOut(
                store_id=store.id, code=store.code, name=store.name, created_at=store.created_at
            )

        return await respond_idempotently(request, container, principal, idempotency_key, action)
