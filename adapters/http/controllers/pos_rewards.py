"""Item rewards collected at a till: look the redemption up by the member's fulfilment code,
then hand the item over for its cash price (app/use_cases/reward_collection.py)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.problem import problems
from adapters.http.schemas.reward_catalogue import CollectRewardIn, RedemptionOut
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.reward_collection import (
    CollectReward,
    FindRedemptionByCode,
    collect_reward,
    find_redemption_by_code,
)


class PosRewardsController(Controller):
    path = "/"
    tags = ["pos", "reward catalogue"]

    @get(
        "/reward-redemptions",
        operation_id="posFindRewardRedemption",
        summary="Look an item reward's redemption up by the fulfilment code the member shows",
        description="Answers the item, its `status` (`issued`: ready to collect; `fulfilled`: "
        "already handed over; `cancelled`) and the `cash_price` to take. An unknown code, or "
        "one of a coupon reward: 404 `reward_redemption_not_found`.",
        responses=problems(401, 403, 404, 422),
    )
    async def find(
        self,
        container: NamedDependency[Container],
        fulfilment_code: Annotated[str, QueryParameter(min_length=1, max_length=32)],
    ) -> RedemptionOut:
        command = FindRedemptionByCode(code=fulfilment_code)
        redemption = await transactions.read(
            container.uow, lambda uow: find_redemption_by_code(command, uow)
        )
        return RedemptionOut.of(redemption)

    @post(
        "/reward-collections",
        operation_id="posCollectReward",
        summary="Hand an item reward over against its fulfilment code, taking its cash price",
        description="`cash_paid` (minor units) must be exactly the redemption's `cash_price` "
        "(0 for a points-only reward), else 422 `cash_price_mismatch` with the `cash_price`. "
        "Once only: a redemption already handed over is 409 `reward_redemption_used` (two tills "
        "at once: one succeeds), a cancelled one 409 `reward_redemption_cancelled`; an unknown "
        "code 404 `reward_redemption_not_found`. Audited, and announced as `reward.collected`; "
        "the redemption can no longer be cancelled. Any store of the retailer may hand over.",
        status_code=201,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def collect(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[CollectRewardIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[RedemptionOut]:
        assert principal.store_id is not None
        command = CollectReward(
            code=data.fulfilment_code,
            cash_paid=data.cash_paid,
            store_id=principal.store_id,
            terminal_id=principal.terminal_id,
            actor=principal.actor,
        )

        async def action(uow: UnitOfWork) -> tuple[int, RedemptionOut]:
            redemption = await collect_reward(command, uow, clock=container.clock)
            return 201, RedemptionOut.of(redemption)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
