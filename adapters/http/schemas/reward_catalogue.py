"""Bodies of the reward catalogue (admin and member) and of guest sale claims."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from adapters.http.schemas.common import (
    BalancesOut,
    Input,
    Money,
    Output,
    Page,
    TierOut,
    Timestamp,
)
from adapters.http.schemas.coupons import MyCouponOut
from app.use_cases.guest_claims import Claimed
from app.use_cases.reward_catalogue import Cancelled, OfferToMember, Redeemed
from domain.coupon_codes import display
from domain.reward_catalogue import (
    MAX_POINTS_COST,
    MAX_STOCK,
    CatalogueReward,
    CatalogueRewardKind,
    RewardOffer,
    RewardRedemption,
)

TierCode = Annotated[str, Meta(min_length=1, max_length=32)]


class CatalogueRewardIn(Input, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    description: Annotated[str, Meta(max_length=1000)] = ""
    kind: Annotated[
        Literal["coupon", "item"],
        Meta(description="coupon: issued from `coupon_template_id`; item: a fulfilment code"),
    ]
    points_cost: Annotated[int, Meta(ge=1, le=MAX_POINTS_COST)]
    cash_price: Annotated[
        Money, Meta(description="minor units paid at the till on collection; 0: points only")
    ] = 0
    coupon_template_id: UUID | None = None
    stock: (
        Annotated[
            int,
            Meta(ge=0, le=MAX_STOCK, description="how many can be redeemed in all; null: any"),
        ]
        | None
    ) = None
    per_member_limit: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    available_from: Timestamp | None = None
    available_until: Annotated[Timestamp, Meta(description="exclusive")] | None = None
    tiers: Annotated[
        list[TierCode],
        Meta(max_length=50, description="kept for these tiers; empty: every tier"),
    ] = []

    def to_offer(self) -> RewardOffer:
        return RewardOffer(
            name=self.name,
            description=self.description,
            kind=CatalogueRewardKind(self.kind),
            points_cost=self.points_cost,
            cash_price=self.cash_price,
            coupon_template_id=self.coupon_template_id,
            stock=self.stock,
            per_member_limit=self.per_member_limit,
            available_from=self.available_from,
            available_until=self.available_until,
            tiers=frozenset(self.tiers),
        )


class CatalogueRewardOut(Output, kw_only=True):
    reward_id: UUID
    version: int
    name: str
    description: str
    kind: str
    points_cost: int
    cash_price: int
    coupon_template_id: UUID | None
    stock: int | None
    stock_left: Annotated[int | None, Meta(description="null: no stock limit")]
    redeemed: Annotated[int, Meta(description="redemptions held against the stock")]
    per_member_limit: int | None
    available_from: datetime | None
    available_until: datetime | None
    tiers: list[str]
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None

    @classmethod
    def of(cls, reward: CatalogueReward) -> CatalogueRewardOut:
        offer = reward.offer
        return cls(
            reward_id=reward.id,
            version=reward.version,
            name=offer.name,
            description=offer.description,
            kind=offer.kind.value,
            points_cost=offer.points_cost,
            cash_price=offer.cash_price,
            coupon_template_id=offer.coupon_template_id,
            stock=offer.stock,
            stock_left=reward.stock_left,
            redeemed=reward.redeemed,
            per_member_limit=offer.per_member_limit,
            available_from=offer.available_from,
            available_until=offer.available_until,
            tiers=sorted(offer.tiers),
            created_at=reward.created_at,
            updated_at=reward.updated_at,
            retired_at=reward.retired_at,
        )


class CatalogueRewardPageOut(Page, kw_only=True):
    items: list[CatalogueRewardOut]


class RetireRewardIn(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=500)] | None = None


class MyRewardOut(Output, kw_only=True):
    reward_id: UUID
    name: str
    description: str
    kind: str
    points_cost: int
    cash_price: int
    stock_left: int | None
    per_member_limit: int | None
    redeemed_by_me: int
    available_until: datetime | None
    can_redeem: Annotated[
        bool, Meta(description="the member can redeem it now (affordable and allowed)")
    ]
    unavailable_reason: Annotated[
        str | None,
        Meta(
            description="why not: insufficient_points, out_of_stock, member_limit_reached, "
            "tier_not_eligible; null when it can be redeemed"
        ),
    ]

    @classmethod
    def of(cls, offer: OfferToMember) -> MyRewardOut:
        reward = offer.reward
        return cls(
            reward_id=reward.id,
            name=reward.offer.name,
            description=reward.offer.description,
            kind=reward.offer.kind.value,
            points_cost=reward.offer.points_cost,
            cash_price=reward.offer.cash_price,
            stock_left=reward.stock_left,
            per_member_limit=reward.offer.per_member_limit,
            redeemed_by_me=offer.holds,
            available_until=reward.offer.available_until,
            can_redeem=offer.affordable,
            unavailable_reason=offer.unavailable.value if offer.unavailable else None,
        )


class MyRewardPageOut(Page, kw_only=True):
    points: BalancesOut
    items: list[MyRewardOut]


class RedemptionOut(Output, kw_only=True):
    redemption_id: UUID
    reward_id: UUID
    reward_version: int
    member_id: UUID
    kind: str
    name: str
    points: int
    cash_price: Annotated[int, Meta(description="left to pay at the till on collection")]
    status: Annotated[str, Meta(description="issued, fulfilled or cancelled")]
    coupon_id: UUID | None
    fulfilment_code: Annotated[
        str | None, Meta(description="an item's code, shown at the till to collect it")
    ]
    redeemed_at: datetime
    cancelled_at: datetime | None
    fulfilled_at: datetime | None
    cash_paid: Annotated[
        int | None, Meta(description="minor units taken at the till when it was collected")
    ] = None
    collected_store_id: Annotated[
        UUID | None, Meta(description="the store whose till handed the item over")
    ] = None
    collected_terminal_id: UUID | None = None

    @classmethod
    def of(cls, r: RewardRedemption) -> RedemptionOut:
        return cls(
            redemption_id=r.id,
            reward_id=r.reward_id,
            reward_version=r.reward_version,
            member_id=r.member_id,
            kind=r.kind.value,
            name=r.name,
            points=r.points,
            cash_price=r.cash_price,
            status=r.status.value,
            coupon_id=r.coupon_id,
            fulfilment_code=display(r.fulfilment_code) if r.fulfilment_code else None,
            redeemed_at=r.redeemed_at,
            cancelled_at=r.cancelled_at,
            fulfilled_at=r.fulfilled_at,
            cash_paid=r.cash_paid,
            collected_store_id=r.fulfilled_store_id,
            collected_terminal_id=r.fulfilled_terminal_id,
        )


class RedeemedOut(Output, kw_only=True):
    redemption: RedemptionOut
    coupon: MyCouponOut | None
    points: BalancesOut

    @classmethod
    def of(cls, redeemed: Redeemed, now: datetime) -> RedeemedOut:
        return cls(
            redemption=RedemptionOut.of(redeemed.redemption),
            coupon=MyCouponOut.of(redeemed.coupon, now) if redeemed.coupon else None,
            points=BalancesOut.of(redeemed.points),
        )


class MyRedemptionsOut(Page, kw_only=True):
    items: list[RedemptionOut]


class CancelRedemptionIn(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


class CancelledOut(Output, kw_only=True):
    redemption: RedemptionOut
    points: Annotated[BalancesOut, Meta(description="the member's balances after it")]

    @classmethod
    def of(cls, cancelled: Cancelled) -> CancelledOut:
        return cls(
            redemption=RedemptionOut.of(cancelled.redemption),
            points=BalancesOut.of(cancelled.points),
        )


class CollectRewardIn(Input, kw_only=True):
    fulfilment_code: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=32,
            description="the code the member shows (any case, with or without the hyphens)",
        ),
    ]
    cash_paid: Annotated[
        Money,
        Meta(description="minor units taken at the till: exactly the redemption's cash_price"),
    ]


# Guest sale claims ---------------------------------------------------------------------------


class MyClaimIn(Input, kw_only=True):
    claim_code: Annotated[
        str,
        Meta(min_length=1, max_length=32, description="the code on the guest sale's receipt"),
    ]


class PosClaimIn(Input, kw_only=True):
    member_id: UUID
    receipt_id: Annotated[str, Meta(min_length=1, max_length=64)]


class ClaimedOut(Output, kw_only=True):
    sale_id: UUID
    receipt_id: str
    points_earned: int
    points: BalancesOut
    tier: TierOut
    draw_chances: int  # the chances the sale earns the member, as a named sale's would

    @classmethod
    def of(cls, claimed: Claimed) -> ClaimedOut:
        return cls(
            sale_id=claimed.sale_id,
            receipt_id=claimed.receipt_id,
            points_earned=claimed.points_earned,
            draw_chances=claimed.draw_chances,
            points=BalancesOut.of(claimed.points),
            tier=TierOut.of(claimed.tier),
        )
