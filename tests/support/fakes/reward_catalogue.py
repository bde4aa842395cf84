"""The reward catalogue, its redemptions, and guest sale claims."""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING
from uuid import UUID

from domain.guest_claims import GuestSaleClaim
from domain.reward_catalogue import (
    CatalogueReward,
    CatalogueRewardKind,
    RedemptionStatus,
    RewardRedemption,
)
from domain.sales import Sale
from tests.support.fakes.common import Linked, require
from tests.support.fakes.sales import check_sale

if TYPE_CHECKING:
    from tests.support.fakes.database import FakeDatabase


class FakeRewardCatalogueRepository(Linked):
    """Rewards and redemptions; a reward's template, a redemption's reward, member and coupon
    must exist (the foreign keys), and the stock is never overdrawn (the CHECK)."""

    def __init__(self) -> None:
        self.rewards: dict[UUID, CatalogueReward] = {}
        self.redemptions: dict[UUID, RewardRedemption] = {}

    def _check(self, reward: CatalogueReward) -> None:
        offer = reward.offer
        require(
            offer.coupon_template_id is None
            or offer.coupon_template_id in self.db.coupon_templates.templates,
            "catalogue_rewards_coupon_template_id_fkey",
        )
        require(
            reward.redeemed >= 0 and (offer.stock is None or reward.redeemed <= offer.stock),
            "catalogue_rewards_stock",
        )

    async def add(self, reward: CatalogueReward) -> None:
        require(reward.id not in self.rewards, "catalogue_rewards_pkey")
        self._check(reward)
        self.rewards[reward.id] = copy.deepcopy(reward)

    async def get(self, reward_id: UUID) -> CatalogueReward | None:
        return copy.deepcopy(self.rewards.get(reward_id))

    async def get_for_update(self, reward_id: UUID) -> CatalogueReward | None:
        return await self.get(reward_id)

    async def save(self, reward: CatalogueReward) -> None:
        self._check(reward)
        if reward.id in self.rewards:
            self.rewards[reward.id] = copy.deepcopy(reward)

    async def list(
        self, *, after: UUID | None, limit: int, include_retired: bool = True
    ) -> Sequence[CatalogueReward]:
        found = sorted(
            (
                r
                for r in self.rewards.values()
                if (after is None or r.id > after) and (include_retired or r.retired_at is None)
            ),
            key=lambda r: r.id,
        )
        return [copy.deepcopy(r) for r in found[:limit]]

    async def holdings(self, member_id: UUID, reward_ids: Collection[UUID]) -> dict[UUID, int]:
        held: dict[UUID, int] = {}
        for r in self.redemptions.values():
            if (
                r.member_id == member_id
                and r.reward_id in reward_ids
                and r.status is not RedemptionStatus.CANCELLED
            ):
                held[r.reward_id] = held.get(r.reward_id, 0) + 1
        return held

    async def add_redemption(self, redemption: RewardRedemption) -> bool:
        if redemption.fulfilment_code is not None and any(
            r.fulfilment_code == redemption.fulfilment_code for r in self.redemptions.values()
        ):
            return False
        require(redemption.reward_id in self.rewards, "reward_redemptions_reward_id_fkey")
        require(
            redemption.member_id in self.db.members.members, "reward_redemptions_member_id_fkey"
        )
        require(
            redemption.coupon_id is None or redemption.coupon_id in self.db.coupons.coupons,
            "reward_redemptions_coupon_id_fkey",
        )
        self.redemptions[redemption.id] = copy.deepcopy(redemption)
        return True

    async def get_redemption(self, redemption_id: UUID) -> RewardRedemption | None:
        return copy.deepcopy(self.redemptions.get(redemption_id))

    async def get_redemption_for_update(self, redemption_id: UUID) -> RewardRedemption | None:
        return await self.get_redemption(redemption_id)

    async def save_redemption(self, redemption: RewardRedemption) -> None:
        stored = self.redemptions.get(redemption.id)
        if stored is not None:
            self.redemptions[redemption.id] = replace(
                stored,
                status=redemption.status,
                cancelled_at=redemption.cancelled_at,
                cancelled_by=redemption.cancelled_by,
                cancel_reason=redemption.cancel_reason,
                fulfilled_at=redemption.fulfilled_at,
                fulfilled_by=redemption.fulfilled_by,
                fulfilled_store_id=redemption.fulfilled_store_id,
                fulfilled_terminal_id=redemption.fulfilled_terminal_id,
                cash_paid=redemption.cash_paid,
            )
            _check_redemption(self.redemptions[redemption.id], self.db)

    async def redemption_by_code(
        self, code: str, *, for_update: bool = False
    ) -> RewardRedemption | None:
        for r in self.redemptions.values():
            if r.fulfilment_code == code:
                return copy.deepcopy(r)
        return None

    async def recent_redemptions(
        self, *, after: UUID | None, limit: int, status: RedemptionStatus | None = None
    ) -> Sequence[RewardRedemption]:
        every = sorted(
            (r for r in self.redemptions.values() if status is None or r.status is status),
            key=lambda r: (r.redeemed_at, r.id),
            reverse=True,
        )
        if after is not None and after in self.redemptions:
            mark = self.redemptions[after]
            every = [r for r in every if (r.redeemed_at, r.id) < (mark.redeemed_at, mark.id)]
        return [copy.deepcopy(r) for r in every[:limit]]

    async def redemptions_of(
        self, member_id: UUID, *, after: UUID | None, limit: int
    ) -> Sequence[RewardRedemption]:
        mine = sorted(
            (r for r in self.redemptions.values() if r.member_id == member_id),
            key=lambda r: (r.redeemed_at, r.id),
            reverse=True,
        )
        if after is not None and after in self.redemptions:
            mark = self.redemptions[after]
            mine = [r for r in mine if (r.redeemed_at, r.id) < (mark.redeemed_at, mark.id)]
        return [copy.deepcopy(r) for r in mine[:limit]]


def _check_redemption(r: RewardRedemption, db: FakeDatabase) -> None:
    """The CHECKs and foreign keys of a collected redemption (reward_collection_sql)."""
    fulfilled = r.status is RedemptionStatus.FULFILLED
    require(fulfilled == (r.fulfilled_at is not None), "reward_redemptions_fulfilled")
    require(
        r.cash_paid is None
        or (fulfilled and r.kind is CatalogueRewardKind.ITEM and r.cash_paid == r.cash_price),
        "reward_redemptions_cash_paid",
    )
    require(
        (r.fulfilled_store_id is None and r.fulfilled_terminal_id is None) or fulfilled,
        "reward_redemptions_collected_at",
    )
    require(
        r.fulfilled_store_id is None or r.fulfilled_store_id in db.stores.stores,
        "reward_redemptions_fulfilled_store_id_fkey",
    )
    require(
        r.fulfilled_terminal_id is None or r.fulfilled_terminal_id in db.stores.terminals,
        "reward_redemptions_fulfilled_terminal_id_fkey",
    )


class FakeGuestClaimRepository(Linked):
    """Claim codes of guest sales and the claims made; a claim's sale must exist."""

    def __init__(self) -> None:
        self.claims: dict[UUID, GuestSaleClaim] = {}

    async def add(self, claim: GuestSaleClaim) -> bool:
        if claim.code is not None and any(c.code == claim.code for c in self.claims.values()):
            return False
        require(claim.sale_id in self.db.sales.sales, "guest_sale_claims_sale_id_fkey")
        require(claim.sale_id not in self.claims, "guest_sale_claims_pkey")
        self.claims[claim.sale_id] = copy.deepcopy(claim)
        return True

    async def sale_for_code(self, code: str) -> UUID | None:
        return next((c.sale_id for c in self.claims.values() if c.code == code), None)

    async def of_sale(self, sale_id: UUID) -> GuestSaleClaim | None:
        return copy.deepcopy(self.claims.get(sale_id))

    async def attach(self, sale: Sale, claim: GuestSaleClaim) -> None:
        stored = self.db.sales.sales[sale.id]
        require(
            sale.member_id is not None and sale.member_id in self.db.members.members,
            "sales_member_id_fkey",
        )
        stored.member_id = sale.member_id
        stored.pricing = replace(
            stored.pricing,
            points_earned=sale.pricing.points_earned,
            breakdown=sale.pricing.breakdown,
        )
        check_sale(stored)
        self.claims[claim.sale_id] = copy.deepcopy(claim)
