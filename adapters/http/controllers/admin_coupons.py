from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.coupons import IssueCouponsIn, IssueCouponsOut
from adapters.http.schemas.problem import problems
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.coupons import IssueCoupons, issue_coupons
from domain.errors import InvalidInput


class AdminCouponsController(Controller):
    path = "/coupons"
    tags = ["admin", "coupons"]

    @post(
        "/issue",
        operation_id="issueCoupons",
        summary="Issue a template's coupons to listed members or a segment (audited)",
        description="`member_ids` (up to 1,000) or `segment` (an RFM segment, a lifecycle "
        "stage or a tier, with a `campaign_key`: each member in it gets one coupon per key, "
        "so sending the campaign again reaches only newcomers). Members past the template's "
        "per-member or total limit, unknown members and members who already hold a coupon of "
        "the same `campaign_key` are skipped with the reason (listed for `member_ids`, "
        "counted for a segment); the rest get one coupon each. Concurrent issues of one "
        "template are serialised, so a total limit is never exceeded.",
        status_code=201,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def issue(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[IssueCouponsIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[IssueCouponsOut]:
        if (data.segment is None) == (not data.member_ids):
            raise InvalidInput("give either member_ids or a segment", field="member_ids")
        command = IssueCoupons(
            template_id=data.template_id,
            member_ids=data.member_ids or (),
            actor=principal.actor,
            campaign_key=data.campaign_key,
            segment=data.segment.to_spec() if data.segment else None,
        )

        async def action(uow: UnitOfWork) -> tuple[int, IssueCouponsOut]:
            issued = await issue_coupons(
                command, uow, clock=container.clock, random=container.random, ids=container.ids
            )
            return 201, IssueCouponsOut.of(issued, itemised=command.segment is None)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
