"""The reward catalogue for admins: rewards members buy with points, and their redemptions.

Not the review or birthday rewards (admin_rewards.py), which the programme gives away.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.problem import problems
from adapters.http.schemas.reward_catalogue import (
    CancelledOut,
    CancelRedemptionIn,
    CatalogueRewardIn,
    CatalogueRewardOut,
    CatalogueRewardPageOut,
    RedemptionOut,
    RetireRewardIn,
)
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.reward_catalogue import (
    CancelRedemption,
    FulfilRedemption,
    RetireReward,
    cancel_redemption,
    create_reward,
    fulfil_redemption,
    get_redemption,
    get_reward,
    list_rewards,
    retire_reward,
    revise_reward,
)


class AdminCatalogueController(Controller):
    path = "/catalogue-rewards"
    tags = ["admin", "reward catalogue"]

    @post(
        operation_id="createCatalogueReward",
        summary="Put a reward in the catalogue (audited)",
        description="A `coupon` reward names an active coupon template (404 "
        "`coupon_template_not_found`, 409 `coupon_template_retired`); an `item` reward hands "
        "the member a fulfilment code.",
        status_code=201,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CatalogueRewardIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[CatalogueRewardOut]:
        offer = data.to_offer()

        async def action(uow: UnitOfWork) -> tuple[int, CatalogueRewardOut]:
            reward = await create_reward(
                offer, principal.actor, uow, clock=container.clock, ids=container.ids
            )
            return 201, CatalogueRewardOut.of(reward)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @get(
        operation_id="listCatalogueRewards",
        summary="The catalogue's rewards, retired ones too",
        responses=problems(401, 403, 422),
    )
    async def index(
        self, container: NamedDependency[Container], limit: Limit = 50, cursor: Cursor = None
    ) -> CatalogueRewardPageOut:
        after = decode_after(cursor)
        rewards = await transactions.read(
            container.uow, lambda uow: list_rewards(uow, after=after, limit=limit)
        )
        return CatalogueRewardPageOut(
            items=[CatalogueRewardOut.of(r) for r in rewards],
            next_cursor=next_cursor([r.id for r in rewards], limit),
        )

    @get(
        "/{reward_id:uuid}",
        operation_id="getCatalogueReward",
        summary="One reward of the catalogue",
        responses=problems(401, 403, 404),
    )
    async def show(
        self, reward_id: FromPath[UUID], container: NamedDependency[Container]
    ) -> CatalogueRewardOut:
        reward = await transactions.read(container.uow, lambda uow: get_reward(reward_id, uow))
        return CatalogueRewardOut.of(reward)

    @put(
        "/{reward_id:uuid}",
        operation_id="reviseCatalogueReward",
        summary="Save the reward's next version (audited)",
        description="Redemptions already made keep what they cost. The kind cannot change, "
        "and the stock cannot go below what is redeemed (422 naming the field).",
        responses=problems(401, 403, 404, 409, 422),
    )
    async def revise(
        self,
        reward_id: FromPath[UUID],
        data: JSONBody[CatalogueRewardIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> CatalogueRewardOut:
        offer = data.to_offer()
        reward = await transactions.write(
            container.uow,
            lambda uow: revise_reward(
                reward_id, offer, principal.actor, uow, clock=container.clock
            ),
        )
        return CatalogueRewardOut.of(reward)

    @post(
        "/{reward_id:uuid}/retire",
        operation_id="retireCatalogueReward",
        summary="Retire a reward: nothing more is redeemed (audited)",
        description="Redemptions already made stay valid and can still be cancelled. "
        "Retiring it again answers it as it is.",
        status_code=200,
        responses=problems(401, 403, 404, 422),
    )
    async def retire(
        self,
        request: Request[Any, Any, Any],
        reward_id: FromPath[UUID],
        data: JSONBody[RetireRewardIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[CatalogueRewardOut]:
        command = RetireReward(reward_id=reward_id, actor=principal.actor, reason=data.reason)

        async def action(uow: UnitOfWork) -> tuple[int, CatalogueRewardOut]:
            reward = await retire_reward(command, uow, clock=container.clock)
            return 200, CatalogueRewardOut.of(reward)

        return await respond_idempotently(request, container, principal, idempotency_key, action)


class AdminRewardRedemptionsController(Controller):
    path = "/reward-redemptions"
    tags = ["admin", "reward catalogue"]

    @get(
        "/{redemption_id:uuid}",
        operation_id="getRewardRedemption",
        summary="One redemption of a catalogue reward",
        responses=problems(401, 403, 404),
    )
    async def show(
        self, redemption_id: FromPath[UUID], container: NamedDependency[Container]
    ) -> RedemptionOut:
        redemption = await transactions.read(
            container.uow, lambda uow: get_redemption(redemption_id, uow)
        )
        return RedemptionOut.of(redemption)

    @post(
        "/{redemption_id:uuid}/cancel",
        operation_id="cancelRewardRedemption",
        summary="Cancel an unused redemption: points and stock back (audited)",
        description="The points come back in lots that keep the expiry they were taken from "
        "(a `restore` entry); the stock gets the one back; the coupon is withdrawn. A "
        "redemption used (its coupon redeemed at a till, its item handed over) is 409 "
        "`reward_redemption_used`; one already cancelled is 409 `reward_redemption_cancelled`.",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        redemption_id: FromPath[UUID],
        data: JSONBody[CancelRedemptionIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[CancelledOut]:
        command = CancelRedemption(
            redemption_id=redemption_id, actor=principal.actor, reason=data.reason
        )

        async def action(uow: UnitOfWork) -> tuple[int, CancelledOut]:
            cancelled = await cancel_redemption(command, uow, clock=container.clock)
            return 200, CancelledOut.of(cancelled)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @post(
        "/{redemption_id:uuid}/fulfil",
        operation_id="fulfilRewardRedemption",
        summary="Record that an item was handed over; it can no longer be cancelled (audited)",
        description="Only an item reward's redemption (422 otherwise). Again: answered as it is.",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def fulfil(
        self,
        request: Request[Any, Any, Any],
        redemption_id: FromPath[UUID],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[RedemptionOut]:
        command = FulfilRedemption(redemption_id=redemption_id, actor=principal.actor)

        async def action(uow: UnitOfWork) -> tuple[int, RedemptionOut]:
            redemption = await fulfil_redemption(command, uow, clock=container.clock)
            return 200, RedemptionOut.of(redemption)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
