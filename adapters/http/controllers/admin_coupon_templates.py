from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.coupons import (
    CouponTemplateIn,
    CouponTemplateOut,
    CouponTemplatePageOut,
    RetireTemplateIn,
)
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.coupon_templates import (
    RetireTemplate,
    create_template,
    get_template,
    list_templates,
    retire_template,
    revise_template,
)


class AdminCouponTemplatesController(Controller):
    path = "/coupon-templates"
    tags = ["admin", "coupons"]

    @post(
        operation_id="createCouponTemplate",
        summary="Define a coupon template (audited)",
        description="Give either `valid_days` (coupons run to the end of the local day that "
        "many days after issue) or `valid_from` and `valid_until`.",
        status_code=201,
        responses=problems(401, 403, 409, 422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CouponTemplateIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[CouponTemplateOut]:
        definition = data.to_definition()

        async def action(uow: UnitOfWork) -> tuple[int, CouponTemplateOut]:
            template = await create_template(
                definition, principal.actor, uow, clock=container.clock, ids=container.ids
            )
            return 201, CouponTemplateOut.of(template)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @get(
        operation_id="listCouponTemplates",
        summary="Coupon templates, current versions",
        responses=problems(401, 403, 422),
    )
    async def index(
        self, container: NamedDependency[Container], limit: Limit = 50, cursor: Cursor = None
    ) -> CouponTemplatePageOut:
        after = decode_after(cursor)
        templates = await transactions.read(
            container.uow, lambda uow: list_templates(uow, after=after, limit=limit)
        )
        return CouponTemplatePageOut(
            items=[CouponTemplateOut.of(t) for t in templates],
            next_cursor=next_cursor([t.id for t in templates], limit),
        )

    @get(
        "/{template_id:uuid}",
        operation_id="getCouponTemplate",
        summary="One coupon template, current version",
        responses=problems(401, 403, 404),
    )
    async def show(
        self, template_id: FromPath[UUID], container: NamedDependency[Container]
    ) -> CouponTemplateOut:
        template = await transactions.read(
            container.uow, lambda uow: get_template(template_id, uow)
        )
        return CouponTemplateOut.of(template)

    @put(
        "/{template_id:uuid}",
        operation_id="reviseCouponTemplate",
        summary="Save the template's next version (audited)",
        description="Coupons already issued keep the terms they were issued with; limits "
        "count every coupon issued from any version.",
        responses=problems(401, 403, 404, 422),
    )
    async def revise(
        self,
        template_id: FromPath[UUID],
        data: JSONBody[CouponTemplateIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> CouponTemplateOut:
        definition = data.to_definition()
        template = await transactions.write(
            container.uow,
            lambda uow: revise_template(
                template_id, definition, principal.actor, uow, clock=container.clock
            ),
        )
        return CouponTemplateOut.of(template)

    @post(
        "/{template_id:uuid}/retire",
        operation_id="retireCouponTemplate",
        summary="Retire a template: nothing more is issued from it (audited)",
        description="No issue of any kind takes it any more: admin and segment issues get "
        "409 `coupon_template_retired`, review and birthday rewards issue nothing, and a draw "
        "prize of it drops out of the draw. Coupons already issued stay valid on their own "
        "terms. An issue running at that instant finishes first (both take the template's "
        "lock). Retiring it again answers it as it is.",
        status_code=200,
        responses=problems(401, 403, 404, 422),
    )
    async def retire(
        self,
        request: Request[Any, Any, Any],
        template_id: FromPath[UUID],
        data: JSONBody[RetireTemplateIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[CouponTemplateOut]:
        command = RetireTemplate(template_id=template_id, actor=principal.actor, reason=data.reason)

        async def action(uow: UnitOfWork) -> tuple[int, CouponTemplateOut]:
            template = await retire_template(command, uow, clock=container.clock)
            return 200, CouponTemplateOut.of(template)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
