from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.draws import (
    DrawCampaignEndIn,
    DrawCampaignIn,
    DrawCampaignOut,
    DrawCampaignPageOut,
)
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.draws import (
    create_campaign,
    edit_campaign,
    end_campaign,
    get_campaign,
    list_campaigns,
)


class AdminDrawCampaignsController(Controller):
    path = "/draw-campaigns"
    tags = ["admin", "draws"]

    @post(
        operation_id="createDrawCampaign",
        summary="Set up a spend-threshold prize draw (audited)",
        description="A purchase in [starts_at, ends_at) whose payable amount reaches "
        "`threshold` earns one chance (`one`) or one per whole multiple (`per_multiple`).",
        status_code=201,
        responses=problems(401, 403, 404, 422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[DrawCampaignIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[DrawCampaignOut]:
        command = data.to_command()

        async def action(uow: UnitOfWork) -> tuple[int, DrawCampaignOut]:
            campaign = await create_campaign(
                command, principal.actor, uow, clock=container.clock, ids=container.ids
            )
            return 201, DrawCampaignOut.of(campaign)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @get(
        operation_id="listDrawCampaigns",
        summary="Draw campaigns with their prizes and remaining stock",
        responses=problems(401, 403, 422),
    )
    async def index(
        self, container: NamedDependency[Container], limit: Limit = 50, cursor: Cursor = None
    ) -> DrawCampaignPageOut:
        after = decode_after(cursor)
        campaigns = await transactions.read(
            container.uow, lambda uow: list_campaigns(uow, after=after, limit=limit)
        )
        return DrawCampaignPageOut(
            items=[DrawCampaignOut.of(c) for c in campaigns],
            next_cursor=next_cursor([c.id for c in campaigns], limit),
        )

    @get(
        "/{campaign_id:uuid}",
        operation_id="getDrawCampaign",
        summary="One draw campaign",
        responses=problems(401, 403, 404),
    )
    async def show(
        self, campaign_id: FromPath[UUID], container: NamedDependency[Container]
    ) -> DrawCampaignOut:
        campaign = await transactions.read(
            container.uow, lambda uow: get_campaign(campaign_id, uow)
        )
        return DrawCampaignOut.of(campaign)

    @put(
        "/{campaign_id:uuid}",
        operation_id="editDrawCampaign",
        summary="Replace the definition of a campaign that has not started (audited)",
        description="The same body as createDrawCampaign. Once the campaign has started "
        "(a purchase may have earned a chance on its terms) the answer is 409 "
        "`draw_campaign_started`: end it early instead. Like every PUT, it takes no "
        "Idempotency-Key: sending the same definition again changes nothing more.",
        responses=problems(401, 403, 404, 409, 422),
    )
    async def edit(
        self,
        campaign_id: FromPath[UUID],
        data: JSONBody[DrawCampaignIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> DrawCampaignOut:
        command = data.to_command()
        campaign = await transactions.write(
            container.uow,
            lambda uow: edit_campaign(
                campaign_id, command, principal.actor, uow, clock=container.clock
            ),
        )
        return DrawCampaignOut.of(campaign)

    @post(
        "/{campaign_id:uuid}/end",
        operation_id="endDrawCampaign",
        summary="End a running campaign now (audited, with an optional reason)",
        description="Purchases from now on earn no chance; chances already earned can be "
        "played until they expire. A campaign that has not started or has ended gets 409 "
        "`draw_campaign_not_running`.",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def end(
        self,
        request: Request[Any, Any, Any],
        campaign_id: FromPath[UUID],
        data: JSONBody[DrawCampaignEndIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[DrawCampaignOut]:
        async def action(uow: UnitOfWork) -> tuple[int, DrawCampaignOut]:
            campaign = await end_campaign(
                campaign_id, principal.actor, uow, clock=container.clock, reason=data.reason
            )
            return 200, DrawCampaignOut.of(campaign)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
