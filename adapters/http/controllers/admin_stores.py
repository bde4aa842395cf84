from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.admin import StoreIn, StoreOut, StorePageOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.stores import CreateStore, create_store, list_stores


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
            return 201, StoreOut.of(store)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @get(
        operation_id="listStores",
        summary="The stores, by id",
        responses=problems(401, 403, 422),
    )
    async def index(
        self, container: NamedDependency[Container], limit: Limit = 50, cursor: Cursor = None
    ) -> StorePageOut:
        after = decode_after(cursor)
        stores = await transactions.read(
            container.uow, lambda uow: list_stores(uow, after=after, limit=limit)
        )
        return StorePageOut(
            items=[StoreOut.of(s) for s in stores],
            next_cursor=next_cursor([s.id for s in stores], limit),
        )
