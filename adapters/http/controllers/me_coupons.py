from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.schemas.coupons import MyCouponOut, MyCouponPageOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.coupons import member_coupons
from domain.coupons import CouponStatus

Status = Annotated[
    Literal["available", "redeemed", "expired", "voided"] | None,
    QueryParameter(description="only coupons in this status (as of now)"),
]


class MeCouponsController(Controller):
    path = "/coupons"
    tags = ["member", "coupons"]

    @get(
        operation_id="listMyCoupons",
        summary="The member's coupons, newest first",
        responses=problems(401, 403, 422),
    )
    async def index(
        self,
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        status: Status = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> MyCouponPageOut:
        assert principal.member_id is not None
        member_id = principal.member_id
        after = decode_after(cursor)
        wanted = CouponStatus(status) if status else None
        coupons = await transactions.read(
            container.uow,
            lambda uow: member_coupons(
                member_id, uow, clock=container.clock, status=wanted, after=after, limit=limit
            ),
        )
        now = container.clock.now()
        return MyCouponPageOut(
            items=[MyCouponOut.of(c, now) for c in coupons],
            next_cursor=next_cursor([c.id for c in coupons], limit),
        )
