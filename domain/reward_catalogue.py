"""The reward catalogue: what members buy with their points, and the redemptions that bought it.

Not to be confused with review and birthday rewards (coupons the programme gives): a catalogue
reward is *bought*. It costs points (and may cost a cash price too, paid at the till when the
reward is collected), has a stock, a per-member limit, an availability window and may be kept
for some tiers. It is either a coupon, issued from a coupon template through the one issuing
path every coupon takes, or an item, handed over against a fulfilment code.

A redemption takes the points through the ledger (a ``redeem`` entry that spends the
soonest-expiring lots first), takes one from the stock and issues the coupon or the code, in
one transaction. Cancelling a redemption that was not used gives the points back in lots that
keep the expiry they were taken from (a ``restore`` entry) and puts the one back in stock.

Whether a member can redeem, in the order checked (the first that fails is the answer):
retired, not yet available, no longer available, tier not eligible, out of stock, per-member
limit reached, insufficient points.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.errors import (
    CashPriceMismatch,
    InsufficientPoints,
    InvalidInput,
    RewardNotRedeemable,
    RewardRedemptionCancelled,
    RewardRedemptionUsed,
)
from domain.money import MAX_AMOUNT
from domain.points import Reference

MAX_NAME = 100
MAX_DESCRIPTION = 1000
MAX_POINTS_COST = 10**9
MAX_STOCK = 10**9
MAX_PER_MEMBER = 10_000
MAX_TIERS = 50


class CatalogueRewardKind(StrEnum):
    COUPON = "coupon"  # a coupon issued from a template
    ITEM = "item"  # a thing handed over at the till against a fulfilment code


class Unavailable(StrEnum):
    """Why a member cannot redeem a reward now: the ``reason`` of a refusal."""

    RETIRED = "retired"
    NOT_YET_AVAILABLE = "not_yet_available"
    NO_LONGER_AVAILABLE = "no_longer_available"
    TIER_NOT_ELIGIBLE = "tier_not_eligible"
    OUT_OF_STOCK = "out_of_stock"
    MEMBER_LIMIT_REACHED = "member_limit_reached"
    INSUFFICIENT_POINTS = "insufficient_points"


@dataclass(frozen=True, slots=True)
class RewardOffer:
    """What an admin defines: a catalogue reward's terms (one version of them)."""

    name: str
    kind: CatalogueRewardKind
    points_cost: int
    cash_price: int = 0  # minor units paid at the till on collection; 0: points only
    coupon_template_id: UUID | None = None  # a coupon reward's template
    stock: int | None = None  # how many can ever be redeemed (net of cancellations); None: any
    per_member_limit: int | None = None  # redemptions a member may hold; None: any
    available_from: datetime | None = None
    available_until: datetime | None = None  # exclusive
    tiers: frozenset[str] = frozenset()  # the tiers it is kept for; empty: every tier
    description: str = ""

    def __post_init__(self) -> None:
        name = self.name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidInput(f"a name of 1-{MAX_NAME} characters is required", field="name")
        if len(self.description) > MAX_DESCRIPTION:
            raise InvalidInput(
                f"the description is at most {MAX_DESCRIPTION} characters", field="description"
            )
        if not 1 <= self.points_cost <= MAX_POINTS_COST:
            raise InvalidInput(
                f"points_cost must be between 1 and {MAX_POINTS_COST}", field="points_cost"
            )
        if not 0 <= self.cash_price <= MAX_AMOUNT:
            raise InvalidInput(
                f"cash_price must be between 0 and {MAX_AMOUNT} minor units", field="cash_price"
            )
        if self.kind is CatalogueRewardKind.COUPON and self.coupon_template_id is None:
            raise InvalidInput(
                "a coupon reward names its coupon template", field="coupon_template_id"
            )
        if self.kind is CatalogueRewardKind.ITEM and self.coupon_template_id is not None:
            raise InvalidInput("an item reward has no coupon template", field="coupon_template_id")
        if self.stock is not None and not 0 <= self.stock <= MAX_STOCK:
            raise InvalidInput(f"stock must be between 0 and {MAX_STOCK}", field="stock")
        if self.per_member_limit is not None and not 1 <= self.per_member_limit <= MAX_PER_MEMBER:
            raise InvalidInput(
                f"per_member_limit must be between 1 and {MAX_PER_MEMBER}",
                field="per_member_limit",
            )
        for name_, at in (
            ("available_from", self.available_from),
            ("available_until", self.available_until),
        ):
            if at is not None and at.tzinfo is None:
                raise InvalidInput(f"{name_} needs a time zone offset", field=name_)
        if (
            self.available_from is not None
            and self.available_until is not None
            and self.available_until <= self.available_from
        ):
            raise InvalidInput(
                "available_until must be after available_from", field="available_until"
            )
        if len(self.tiers) > MAX_TIERS or any(not t or len(t) > 32 for t in self.tiers):
            raise InvalidInput(f"at most {MAX_TIERS} tier codes of 1-32 characters", field="tiers")


@dataclass(slots=True)
class CatalogueReward:
    id: UUID
    offer: RewardOffer
    created_at: datetime
    updated_at: datetime
    version: int = 1
    redeemed: int = 0  # redemptions held against the stock (issued or used, not cancelled)
    retired_at: datetime | None = None

    @property
    def stock_left(self) -> int | None:
        if self.offer.stock is None:
            return None
        return max(self.offer.stock - self.redeemed, 0)

    def why_not(
        self, *, now: datetime, tier_code: str, member_holds: int, spendable: int
    ) -> Unavailable | None:
        """Why the member cannot redeem it now, or None when they can.

        ``member_holds``: their redemptions of it not cancelled; ``spendable``: the points
        they can spend now.
        """
        offer = self.offer
        if self.retired_at is not None:
            return Unavailable.RETIRED
        if offer.available_from is not None and now < offer.available_from:
            return Unavailable.NOT_YET_AVAILABLE
        if offer.available_until is not None and now >= offer.available_until:
            return Unavailable.NO_LONGER_AVAILABLE
        if offer.tiers and tier_code not in offer.tiers:
            return Unavailable.TIER_NOT_ELIGIBLE
        if self.stock_left == 0:
            return Unavailable.OUT_OF_STOCK
        if offer.per_member_limit is not None and member_holds >= offer.per_member_limit:
            return Unavailable.MEMBER_LIMIT_REACHED
        if spendable < offer.points_cost:
            return Unavailable.INSUFFICIENT_POINTS
        return None

    def take_one(self, *, now: datetime, tier_code: str, member_holds: int, spendable: int) -> None:
        """One is redeemed: refused with the reason unless the member can redeem it now."""
        reason = self.why_not(
            now=now, tier_code=tier_code, member_holds=member_holds, spendable=spendable
        )
        if reason is Unavailable.INSUFFICIENT_POINTS:
            raise InsufficientPoints(
                f"{self.offer.points_cost} points needed, {spendable} available"
            )
        if reason is not None:
            raise RewardNotRedeemable(reason.value, _REFUSALS[reason])
        self.redeemed += 1

    def give_back_one(self) -> None:
        """A cancelled redemption's one goes back in stock."""
        if self.redeemed < 1:
            raise InvalidInput("nothing of this reward is redeemed")
        self.redeemed -= 1

    def revise(self, offer: RewardOffer, *, now: datetime) -> None:
        """The reward's next version; redemptions already made keep what they cost."""
        if offer.kind is not self.offer.kind:
            raise InvalidInput(
                "a reward's kind cannot change: retire it and create another", field="kind"
            )
        if offer.stock is not None and offer.stock < self.redeemed:
            raise InvalidInput(
                f"{self.redeemed} are already redeemed; the stock cannot be lower", field="stock"
            )
        self.offer = offer
        self.version += 1
        self.updated_at = now

    def retire(self, *, now: datetime) -> bool:
        """Nothing more is redeemed; redemptions made stay valid. False if already retired."""
        if self.retired_at is not None:
            return False
        self.retired_at = now
        self.updated_at = now
        return True


_REFUSALS = {
    Unavailable.RETIRED: "this reward was retired",
    Unavailable.NOT_YET_AVAILABLE: "this reward is not available yet",
    Unavailable.NO_LONGER_AVAILABLE: "this reward is no longer available",
    Unavailable.TIER_NOT_ELIGIBLE: "this reward is kept for other tiers",
    Unavailable.OUT_OF_STOCK: "this reward is out of stock",
    Unavailable.MEMBER_LIMIT_REACHED: "you have redeemed this reward as often as allowed",
    Unavailable.INSUFFICIENT_POINTS: "not enough points to redeem this reward",
}


class RedemptionStatus(StrEnum):
    ISSUED = "issued"  # the coupon or code is the member's, not used yet
    FULFILLED = "fulfilled"  # the item was handed over (a coupon: see the coupon's status)
    CANCELLED = "cancelled"  # points and stock given back


@dataclass(slots=True)
class RewardRedemption:
    id: UUID
    reward_id: UUID
    reward_version: int
    member_id: UUID
    kind: CatalogueRewardKind
    name: str
    points: int  # what it cost, taken through the ledger
    cash_price: int  # what is left to pay at the till
    redeemed_at: datetime
    coupon_id: UUID | None = None
    fulfilment_code: str | None = None
    status: RedemptionStatus = RedemptionStatus.ISSUED
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    fulfilled_at: datetime | None = None
    # Collected at a till (``collect``): where, by whom, and the cash paid there. An item an
    # admin records as handed over (``POST .../fulfil``) has none of these.
    fulfilled_by: str | None = None
    fulfilled_store_id: UUID | None = None
    fulfilled_terminal_id: UUID | None = None
    cash_paid: int | None = None  # minor units, exactly ``cash_price`` (0 for points only)

    def collect(
        self,
        *,
        cash_paid: int,
        now: datetime,
        by: str,
        store_id: UUID,
        terminal_id: UUID | None,
    ) -> None:
        """A till hands the item over against its code and takes the cash price.

        Refused when it is not an item, was cancelled, was already handed over, or when the
        cash taken is not the price (the till must charge exactly what the member agreed to).
        """
        if self.kind is not CatalogueRewardKind.ITEM:
            raise InvalidInput("only an item is collected; a coupon reward is used as a coupon")
        if self.status is RedemptionStatus.CANCELLED:
            raise RewardRedemptionCancelled()
        if self.status is RedemptionStatus.FULFILLED:
            raise RewardRedemptionUsed("the item was already handed over")
        if cash_paid != self.cash_price:
            raise CashPriceMismatch(
                f"this reward costs {self.cash_price} in cash (minor units), {cash_paid} was given",
                cash_price=self.cash_price,
            )
        self.status = RedemptionStatus.FULFILLED
        self.fulfilled_at = now
        self.fulfilled_by = by
        self.fulfilled_store_id = store_id
        self.fulfilled_terminal_id = terminal_id
        self.cash_paid = cash_paid

    @property
    def reference(self) -> Reference:
        """The ledger reference of the points it took (entry ``reward:<id>:redeem``)."""
        return Reference(REDEMPTION_REFERENCE, str(self.id))

    @property
    def cancel_reference(self) -> Reference:
        return Reference(CANCELLATION_REFERENCE, str(self.id))


REDEMPTION_REFERENCE = "reward"
CANCELLATION_REFERENCE = "reward_cancel"


class RewardCatalogueRepository(Protocol):
    async def add(self, reward: CatalogueReward) -> None: ...

    async def get(self, reward_id: UUID) -> CatalogueReward | None: ...

    async def get_for_update(self, reward_id: UUID) -> CatalogueReward | None:
        """The reward, locked: redemptions of one reward run one after the other, which is
        what makes the stock and the per-member limit hold under any concurrency."""
        ...

    async def save(self, reward: CatalogueReward) -> None:
        """Stores the reward's offer, version, redeemed count and retirement."""
        ...

    async def list(
        self, *, after: UUID | None, limit: int, include_retired: bool = True
    ) -> Sequence[CatalogueReward]:
        """Rewards by id, after ``after``."""
        ...

    async def holdings(self, member_id: UUID, reward_ids: Collection[UUID]) -> dict[UUID, int]:
        """How many redemptions (not cancelled) the member holds of each reward."""
        ...

    async def add_redemption(self, redemption: RewardRedemption) -> bool:
        """Stores it; False when its fulfilment code is taken (draw another)."""
        ...

    async def get_redemption(self, redemption_id: UUID) -> RewardRedemption | None: ...

    async def get_redemption_for_update(self, redemption_id: UUID) -> RewardRedemption | None: ...

    async def redemption_by_code(
        self, code: str, *, for_update: bool = False
    ) -> RewardRedemption | None:
        """The redemption with this canonical fulfilment code; locked with ``for_update``
        (two tills collecting one code queue on its row)."""
        ...

    async def recent_redemptions(
        self, *, after: UUID | None, limit: int, status: RedemptionStatus | None = None
    ) -> Sequence[RewardRedemption]:
        """Every member's redemptions (optionally of one status), newest first, after the
        redemption ``after``: the back office's list."""
        ...

    async def save_redemption(self, redemption: RewardRedemption) -> None:
        """Stores its status, cancellation and fulfilment (where and for how much cash)."""
        ...

    async def redemptions_of(
        self, member_id: UUID, *, after: UUID | None, limit: int
    ) -> Sequence[RewardRedemption]:
        """The member's redemptions, newest first, after the redemption ``after``."""
        ...
