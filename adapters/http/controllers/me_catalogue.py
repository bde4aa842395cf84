"""The reward catalogue for the member (GET /v1/me/rewards) and claims of guest sales."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.common import BalancesOut
from adapters.http.schemas.problem import problems
from adapters.http.schemas.reward_catalogue import (
    ClaimedOut,
    MyClaimIn,
    MyRedemptionsOut,
    MyRewardOut,
    MyRewardPageOut,
    RedeemedOut,
    RedemptionOut,
)
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.guest_claims import ClaimWithCode, claim_guest_sale
from app.use_cases.reward_catalogue import (
    RedeemReward,
    member_catalogue,
    member_redemptions,
    redeem_reward,
)


class MeRewardsController(Controller):
    path = "/rewards"
    tags = ["member", "reward catalogue"]

    @get(
        operation_id="listMyRewards",
        summary="The reward catalogue, each marked with whether the member can redeem it now",
        description="Rewards on offer now (not retired, inside their window). "
        "`can_redeem` is true when the member can afford it and may redeem it; otherwise "
        "`unavailable_reason` says why. `points` are the member's balances.",
        responses=problems(401, 403, 404, 422),
    )
    async def index(
        self,
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> MyRewardPageOut:
        assert principal.member_id is not None
        member_id = principal.member_id
        after = decode_after(cursor)
        offers, balances = await transactions.read(
            container.uow,
            lambda uow: member_catalogue(
                member_id, uow, clock=container.clock, after=after, limit=limit
            ),
        )
        return MyRewardPageOut(
            points=BalancesOut.of(balances),
            items=[MyRewardOut.of(o) for o in offers],
            next_cursor=next_cursor([o.reward.id for o in offers], limit),
        )

    @get(
        "/redemptions",
        operation_id="listMyRewardRedemptions",
        summary="The member's redemptions, newest first",
        responses=problems(401, 403, 422),
    )
    async def redemptions(
        self,
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> MyRedemptionsOut:
        assert principal.member_id is not None
        member_id = principal.member_id
        after = decode_after(cursor)
        found = await transactions.read(
            container.uow,
            lambda uow: member_redemptions(member_id, uow, after=after, limit=limit),
        )
        return MyRedemptionsOut(
            items=[RedemptionOut.of(r) for r in found],
            next_cursor=next_cursor([r.id for r in found], limit),
        )

    @post(
        "/{reward_id:uuid}/redeem",
        operation_id="redeemMyReward",
        summary="Buy a reward with points: points, stock and the coupon or code in one go",
        description="The points are taken through the ledger, soonest-expiring first; the "
        "coupon lands in the wallet, or the item's `fulfilment_code` is answered (with any "
        "`cash_price` left to pay at the till). Refusals take nothing: 422 "
        "`insufficient_points`, 409 `reward_not_redeemable` with `reason` (out_of_stock, "
        "member_limit_reached, tier_not_eligible, not_yet_available, no_longer_available, "
        "retired, coupon_unavailable), 404 `catalogue_reward_not_found`.",
        status_code=201,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def redeem(
        self,
        request: Request[Any, Any, Any],
        reward_id: FromPath[UUID],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[RedeemedOut]:
        assert principal.member_id is not None
        command = RedeemReward(member_id=principal.member_id, reward_id=reward_id)

        async def action(uow: UnitOfWork) -> tuple[int, RedeemedOut]:
            redeemed = await redeem_reward(
                command, uow, clock=container.clock, ids=container.ids, random=container.random
            )
            return 201, RedeemedOut.of(redeemed, container.clock.now())

        return await respond_idempotently(request, container, principal, idempotency_key, action)


class MeSaleClaimsController(Controller):
    path = "/sale-claims"
    tags = ["member", "sales"]

    @post(
        operation_id="claimMyGuestSale",
        summary="Claim a guest sale with the code on its receipt; its points are earned",
        description="Within the programme's `guest_claim_days` of the purchase (422 "
        "`claim_window_closed`), once: 409 `sale_already_claimed`. The points are what the "
        "sale would have earned had the member been named at the till. An unknown code: 404 "
        "`sale_claim_not_found`; a refunded sale: 409 `sale_not_claimable`.",
        status_code=201,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def claim(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MyClaimIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[ClaimedOut]:
        assert principal.member_id is not None
        command = ClaimWithCode(member_id=principal.member_id, code=data.claim_code)

        async def action(uow: UnitOfWork) -> tuple[int, ClaimedOut]:
            claimed = await claim_guest_sale(command, uow, clock=container.clock, ids=container.ids)
            return 201, ClaimedOut.of(claimed)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
