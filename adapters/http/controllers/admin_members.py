from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.common import BalancesOut
from adapters.http.schemas.points import AdjustmentIn, AdjustmentOut
from adapters.http.schemas.problem import problems
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.points import AdjustPoints, adjust_points


class AdminMembersController(Controller):
    path = "/members"
    tags = ["admin"]

    @post(
        "/{member_id:uuid}/adjustments",
        operation_id="adjustMemberPoints",
        summary="Credit or debit a member's points with a reason (audited)",
        status_code=201,
        responses=problems(401, 403, 404, 422),
    )
    async def adjust(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        data: JSONBody[AdjustmentIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[AdjustmentOut]:
        command = AdjustPoints(
            member_id=member_id, points=data.points, reason=data.reason, actor=principal.actor
        )

        async def action(uow: UnitOfWork) -> tuple[int, AdjustmentOut]:
            done = await adjust_points(command, uow, clock=container.clock, ids=container.ids)
            return 201, AdjustmentOut(
                adjustment_id=done.adjustment_id,
                member_id=done.member_id,
                points=done.points,
                reason=done.reason,
                balance=BalancesOut.of(done.balances),
            )

        return await respond_idempotently(request, container, principal, idempotency_key, action)
