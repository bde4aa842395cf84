"""Dict-backed fakes of the coupon, reward-settings and draw repositories.

They restate the database's constraints the rules rely on: unique codes, one coupon per
origin with a ref, a total limit never exceeded, stock never below zero.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.coupon_repositories import BirthdayReward, IssuedFrom, ReviewReward
from domain.coupons import Coupon, CouponStatus, CouponTemplate
from domain.draws import Chance, ChanceStatus, DrawCampaign


class FakeCouponTemplateRepository:
    def __init__(self) -> None:
        self.templates: dict[UUID, CouponTemplate] = {}
        self.versions: dict[tuple[UUID, int], CouponTemplate] = {}

    async def add(self, template: CouponTemplate) -> None:
        assert template.id not in self.templates
        self.templates[template.id] = template
        self.versions[(template.id, template.version)] = template

    async def get(self, template_id: UUID) -> CouponTemplate | None:
        return self.templates.get(template_id)

    async def get_for_update(self, template_id: UUID) -> CouponTemplate | None:
        return self.templates.get(template_id)

    async def save_version(self, template: CouponTemplate) -> None:
        assert (template.id, template.version) not in self.versions
        issued = self.templates[template.id].issued
        self.templates[template.id] = replace(template, issued=issued)
        self.versions[(template.id, template.version)] = template

    async def count_issued(self, template_id: UUID, count: int) -> None:
        template = self.templates[template_id]
        issued = template.issued + count
        if template.total_limit is not None and issued > template.total_limit:
            raise AssertionError("coupon_templates_issued: total limit exceeded")
        self.templates[template_id] = replace(template, issued=issued)

    async def list(self, *, after: UUID | None, limit: int) -> Sequence[CouponTemplate]:
        ordered = sorted(self.templates.values(), key=lambda t: t.id)
        return [t for t in ordered if after is None or t.id > after][:limit]


class FakeCouponRepository:
    def __init__(self) -> None:
        self.coupons: dict[UUID, Coupon] = {}
        self.origins: dict[UUID, IssuedFrom] = {}

    async def add(self, coupons: Sequence[Coupon], origin: IssuedFrom) -> set[UUID]:
        stored = set()
        for coupon in coupons:
            if any(c.code == coupon.code for c in self.coupons.values()):
                continue
            if origin.ref is not None and await self.from_origin(origin, coupon.member_id):
                continue
            self.coupons[coupon.id] = copy.deepcopy(coupon)
            self.origins[coupon.id] = origin
            stored.add(coupon.id)
        return stored

    async def by_codes(self, codes: Collection[str]) -> dict[str, Coupon]:
        return {c.code: copy.deepcopy(c) for c in self.coupons.values() if c.code in codes}

    async def get(self, coupon_id: UUID) -> Coupon | None:
        return copy.deepcopy(self.coupons.get(coupon_id))

    async def per_member_counts(
        self, template_id: UUID, member_ids: Collection[UUID]
    ) -> dict[UUID, int]:
        counts: dict[UUID, int] = {}
        for c in self.coupons.values():
            if c.template_id == template_id and c.member_id in member_ids:
                counts[c.member_id] = counts.get(c.member_id, 0) + 1
        return counts

    async def holders(self, origin: IssuedFrom, member_ids: Collection[UUID]) -> set[UUID]:
        if origin.ref is None:
            return set()
        return {
            c.member_id
            for c in self.coupons.values()
            if self.origins[c.id] == origin and c.member_id in member_ids
        }

    async def from_origin(self, origin: IssuedFrom, member_id: UUID) -> Coupon | None:
        if origin.ref is None:
            return None
        for c in self.coupons.values():
            if self.origins[c.id] == origin and c.member_id == member_id:
                return copy.deepcopy(c)
        return None

    async def redeem(
        self, coupon_ids: Sequence[UUID], member_id: UUID, sale_id: UUID, now: datetime
    ) -> int:
        done = 0
        for coupon_id in coupon_ids:
            c = self.coupons.get(coupon_id)
            if (
                c is not None
                and c.member_id == member_id
                and c.status is CouponStatus.AVAILABLE
                and c.valid_from <= now < c.expires_at
            ):
                c.status, c.redeemed_at, c.redeemed_sale_id = CouponStatus.REDEEMED, now, sale_id
                done += 1
        return done

    async def restore_for_sale(self, sale_id: UUID, now: datetime) -> list[Coupon]:
        restored = []
        for c in self.coupons.values():
            redeemed = c.redeemed_sale_id == sale_id and c.status is CouponStatus.REDEEMED
            if redeemed and now < c.expires_at:
                c.status, c.redeemed_at, c.redeemed_sale_id = CouponStatus.AVAILABLE, None, None
                restored.append(copy.deepcopy(c))
        return restored

    async def void(self, coupon_id: UUID, now: datetime) -> bool:
        c = self.coupons.get(coupon_id)
        if c is None or c.status is not CouponStatus.AVAILABLE:
            return False
        c.status = CouponStatus.VOIDED
        return True

    async def of_member(
        self,
        member_id: UUID,
        *,
        status: CouponStatus | None,
        now: datetime,
        after: UUID | None,
        limit: int,
    ) -> Sequence[Coupon]:
        mine = sorted(
            (c for c in self.coupons.values() if c.member_id == member_id),
            key=lambda c: (c.issued_at, c.id),
            reverse=True,
        )
        if after is not None:
            anchor = self.coupons[after]
            mine = [c for c in mine if (c.issued_at, c.id) < (anchor.issued_at, anchor.id)]
        if status is not None:
            mine = [c for c in mine if c.status_at(now) is status]
        return [copy.deepcopy(c) for c in mine[:limit]]

    async def usable(self, member_id: UUID, now: datetime, channel: str) -> Sequence[Coupon]:
        mine = [
            c for c in self.coupons.values() if c.member_id == member_id and c.usable(now, channel)
        ]
        return [copy.deepcopy(c) for c in sorted(mine, key=lambda c: (c.expires_at, c.id))]


class FakeRewardSettingsRepository:
    def __init__(self) -> None:
        self.review = ReviewReward()
        self.birthday = BirthdayReward()

    async def review_reward(self) -> ReviewReward:
        return self.review

    async def save_review_reward(self, settings: ReviewReward) -> None:
        self.review = settings

    async def birthday_reward(self) -> BirthdayReward:
        return self.birthday

    async def save_birthday_reward(self, settings: BirthdayReward) -> None:
        self.birthday = settings


class FakeDrawRepository:
    def __init__(self) -> None:
        self.campaigns_by_id: dict[UUID, DrawCampaign] = {}
        self.chances: dict[UUID, Chance] = {}

    async def add_campaign(self, campaign: DrawCampaign) -> None:
        self.campaigns_by_id[campaign.id] = campaign

    async def get_campaign(self, campaign_id: UUID) -> DrawCampaign | None:
        return self.campaigns_by_id.get(campaign_id)

    async def get_campaign_for_update(self, campaign_id: UUID) -> DrawCampaign | None:
        return self.campaigns_by_id.get(campaign_id)

    async def campaigns(self, *, after: UUID | None, limit: int) -> Sequence[DrawCampaign]:
        ordered = sorted(self.campaigns_by_id.values(), key=lambda c: c.id)
        return [c for c in ordered if after is None or c.id > after][:limit]

    async def running_at(self, at: datetime) -> Sequence[DrawCampaign]:
        return [c for c in self.campaigns_by_id.values() if c.runs_at(at)]

    async def take_stock(self, campaign_id: UUID, prize_code: str) -> bool:
        campaign = self.campaigns_by_id[campaign_id]
        prizes = list(campaign.prizes)
        for i, prize in enumerate(prizes):
            if prize.code == prize_code:
                if prize.stock is None or prize.stock <= 0:
                    return False
                prizes[i] = replace(prize, stock=prize.stock - 1)
                self.campaigns_by_id[campaign_id] = replace(campaign, prizes=tuple(prizes))
                return True
        return False

    async def add_chances(self, chances: Sequence[Chance]) -> None:
        for chance in chances:
            assert chance.id not in self.chances
            self.chances[chance.id] = chance

    async def get_chance_for_update(self, chance_id: UUID) -> Chance | None:
        return self.chances.get(chance_id)

    async def chances_of_sale_for_update(self, sale_id: UUID) -> Sequence[Chance]:
        mine = [c for c in self.chances.values() if c.sale_id == sale_id]
        return sorted(mine, key=lambda c: (c.granted_at, c.id))

    async def save_chance(self, chance: Chance) -> None:
        assert chance.id in self.chances
        self.chances[chance.id] = chance

    async def unplayed(
        self, member_id: UUID, now: datetime, *, after: UUID | None, limit: int
    ) -> Sequence[Chance]:
        mine = sorted(
            (
                c
                for c in self.chances.values()
                if c.member_id == member_id
                and c.status is ChanceStatus.UNPLAYED
                and c.playable(now)
            ),
            key=lambda c: (c.expires_at, c.id),
        )
        if after is not None:
            anchor = self.chances[after]
            mine = [c for c in mine if (c.expires_at, c.id) > (anchor.expires_at, anchor.id)]
        return mine[:limit]

    async def played(self, member_id: UUID, *, after: UUID | None, limit: int) -> Sequence[Chance]:
        mine = sorted(
            (
                c
                for c in self.chances.values()
                if c.member_id == member_id and c.played_at is not None
            ),
            key=lambda c: (c.played_at, c.id),
            reverse=True,
        )
        if after is not None:
            anchor = self.chances[after]
            mine = [c for c in mine if (c.played_at, c.id) < (anchor.played_at, anchor.id)]
        return mine[:limit]
