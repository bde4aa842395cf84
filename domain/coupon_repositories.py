"""Repository ports for coupons, their templates, reward settings and prize draws."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.coupons import Coupon, CouponSource, CouponStatus, CouponTemplate
from domain.draws import Chance, ChanceStatus, DrawCampaign


@dataclass(frozen=True, slots=True)
class IssuedFrom:
    """Where a coupon came from; (source, source_ref, member) is unique when a ref is given,
    which is what makes "once per order", "once per year" and "once per campaign" hold."""

    source: CouponSource
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class CampaignSkip:
    """A member a campaign (a campaign key) left out, and why, the last time it was sent."""

    member_id: UUID
    template_id: UUID
    reason: str
    skipped_at: datetime


class CouponTemplateRepository(Protocol):
    async def add(self, template: CouponTemplate) -> None: ...

    async def get(self, template_id: UUID) -> CouponTemplate | None: ...

    async def get_for_update(self, template_id: UUID) -> CouponTemplate | None:
        """The template, locked: issues from one template are serialised, so limits hold."""
        ...

    async def save_version(self, template: CouponTemplate) -> None:
        """Stores ``template`` (version already incremented) as the current version."""
        ...

    async def retire(self, template_id: UUID, at: datetime) -> None:
        """Marks the template retired at ``at`` (once: a retired template keeps its time)."""
        ...

    async def count_issued(self, template_id: UUID, count: int) -> None:
        """Adds ``count`` coupons to the template's issued total (the caller holds its lock)."""
        ...

    async def list(self, *, after: UUID | None, limit: int) -> Sequence[CouponTemplate]: ...


class CouponRepository(Protocol):
    async def add(self, coupons: Sequence[Coupon], origin: IssuedFrom) -> set[UUID]:
        """Stores the coupons and returns the ids stored; a coupon is left out when its code
        is taken or its (source, ref, member) already has a coupon."""
        ...

    async def by_codes(self, codes: Collection[str]) -> dict[str, Coupon]:
        """The coupons with these canonical codes, by code."""
        ...

    async def get(self, coupon_id: UUID) -> Coupon | None: ...

    async def per_member_counts(
        self, template_id: UUID, member_ids: Collection[UUID]
    ) -> dict[UUID, int]:
        """How many coupons of the template each member holds (any status)."""
        ...

    async def holders(self, origin: IssuedFrom, member_ids: Collection[UUID]) -> set[UUID]:
        """Which of the members already have a coupon from this origin."""
        ...

    async def redeemed_counts(self, template_ids: Collection[UUID]) -> dict[UUID, int]:
        """How many coupons of each template are redeemed now (a refund that gives a coupon
        back takes it out again); a template with none is left out."""
        ...

    async def from_origin(self, origin: IssuedFrom, member_id: UUID) -> Coupon | None: ...

    async def redeem(
        self, coupon_ids: Sequence[UUID], member_id: UUID, sale_id: UUID, now: datetime
    ) -> int:
        """Marks the coupons redeemed by the sale if each is still available and unexpired;
        returns how many were. Two tills racing for one coupon: one gets 1, the other 0."""
        ...

    async def restore_for_sale(self, sale_id: UUID, now: datetime) -> list[Coupon]:
        """Makes the coupons the sale redeemed available again if still unexpired."""
        ...

    async def void(self, coupon_id: UUID, now: datetime) -> bool:
        """Withdraws an available coupon; False if it was already used or gone."""
        ...

    async def record_campaign(
        self,
        campaign_key: str,
        template_id: UUID,
        *,
        reached: Collection[UUID],
        skipped: Sequence[tuple[UUID, str]],
        at: datetime,
    ) -> None:
        """Keeps who a sending of the campaign skipped and why (one row per member, the
        latest reason), and forgets the skips of members it ``reached``."""
        ...

    async def campaign_recipients(
        self, campaign_key: str, *, after: UUID | None, limit: int
    ) -> Sequence[Coupon]:
        """The campaign's coupons, one per member, by member id above ``after``."""
        ...

    async def campaign_skips(
        self, campaign_key: str, *, after: UUID | None, limit: int
    ) -> Sequence[CampaignSkip]:
        """The members the campaign skipped, by member id above ``after``."""
        ...

    async def of_member(
        self,
        member_id: UUID,
        *,
        status: CouponStatus | None,
        now: datetime,
        after: UUID | None,
        limit: int,
    ) -> Sequence[Coupon]:
        """The member's coupons, newest first, by the status as seen at ``now``."""
        ...

    async def usable(self, member_id: UUID, now: datetime, channel: str) -> Sequence[Coupon]:
        """The member's coupons that can be used right now in ``channel``, soonest to end
        first."""
        ...


@dataclass(frozen=True, slots=True)
class ReviewReward:
    enabled: bool = False
    min_rating: int = 5
    template_id: UUID | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class BirthdayReward:
    enabled: bool = False
    template_id: UUID | None = None
    days_ahead: int = 7
    version: int = 0


class RewardSettingsRepository(Protocol):
    async def review_reward(self) -> ReviewReward: ...

    async def save_review_reward(self, settings: ReviewReward) -> None: ...

    async def birthday_reward(self) -> BirthdayReward: ...

    async def save_birthday_reward(self, settings: BirthdayReward) -> None: ...


class DrawRepository(Protocol):
    async def add_campaign(self, campaign: DrawCampaign) -> None: ...

    async def get_campaign(self, campaign_id: UUID) -> DrawCampaign | None: ...

    async def hold_campaign(self, campaign_id: UUID) -> DrawCampaign | None:
        """The campaign, its row locked against another change of its definition (not
        against the chances purchases earn in it)."""
        ...

    async def save_campaign(self, campaign: DrawCampaign) -> None:
        """Stores the campaign's definition: its window, rule and prizes."""
        ...

    async def get_campaign_for_update(self, campaign_id: UUID) -> DrawCampaign | None:
        """The campaign with its prizes locked: plays of one campaign are serialised, so
        stock never goes below zero."""
        ...

    async def campaigns(self, *, after: UUID | None, limit: int) -> Sequence[DrawCampaign]: ...

    async def running_at(self, at: datetime) -> Sequence[DrawCampaign]:
        """The campaigns running at ``at``. Their prizes' stock may lag behind plays: read a
        campaign's stock with ``get_campaign_for_update``."""
        ...

    async def take_stock(self, campaign_id: UUID, prize_code: str) -> bool:
        """One unit of the prize, if any is left."""
        ...

    async def add_chances(self, chances: Sequence[Chance]) -> None: ...

    async def get_chance_for_update(self, chance_id: UUID) -> Chance | None: ...

    async def chances_of_sale_for_update(self, sale_id: UUID) -> Sequence[Chance]:
        """The sale's chances, locked, oldest first."""
        ...

    async def save_chance(self, chance: Chance) -> None: ...

    async def unplayed(
        self, member_id: UUID, now: datetime, *, after: UUID | None, limit: int
    ) -> Sequence[Chance]:
        """The member's chances that can still be played, soonest to expire first."""
        ...

    async def chance_counts(self, campaign_id: UUID) -> dict[ChanceStatus, int]:
        """How many of the campaign's chances are unplayed, played and revoked (a status
        with none is left out)."""
        ...

    async def played(self, member_id: UUID, *, after: UUID | None, limit: int) -> Sequence[Chance]:
        """The member's chances that were played (a refund may have revoked one since),
        most recently played first; ``after`` is the last chance already seen."""
        ...
