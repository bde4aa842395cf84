"""Coupons, with where each came from."""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.coupon_repositories import CampaignSkip, IssuedFrom
from domain.coupons import Coupon, CouponStatus
from tests.support.fakes.common import Linked, require


class FakeCouponRepository(Linked):
    """Coupons with where they came from; a coupon's member, template and redeeming sale must
    exist (the foreign keys), and its source is its origin's, as the table stores it."""

    def __init__(self) -> None:
        self.coupons: dict[UUID, Coupon] = {}
        self.origins: dict[UUID, IssuedFrom] = {}
        self.skips: dict[tuple[str, UUID], CampaignSkip] = {}

    async def record_campaign(
        self,
        campaign_key: str,
        template_id: UUID,
        *,
        reached: Collection[UUID],
        skipped: Sequence[tuple[UUID, str]],
        at: datetime,
    ) -> None:
        for member_id in reached:
            self.skips.pop((campaign_key, member_id), None)
        for member_id, reason in skipped:
            self.skips[(campaign_key, member_id)] = CampaignSkip(member_id, template_id, reason, at)

    async def campaign_recipients(
        self, campaign_key: str, *, after: UUID | None, limit: int
    ) -> Sequence[Coupon]:
        mine = sorted(
            (
                copy.deepcopy(c)
                for c in self.coupons.values()
                if self.origins[c.id].ref == campaign_key and (after is None or c.member_id > after)
            ),
            key=lambda c: c.member_id,
        )
        return mine[:limit]

    async def campaign_skips(
        self, campaign_key: str, *, after: UUID | None, limit: int
    ) -> Sequence[CampaignSkip]:
        mine = sorted(
            (
                s
                for (key, member_id), s in self.skips.items()
                if key == campaign_key and (after is None or member_id > after)
            ),
            key=lambda s: s.member_id,
        )
        return mine[:limit]

    async def add(self, coupons: Sequence[Coupon], origin: IssuedFrom) -> set[UUID]:
        stored = set()
        for coupon in coupons:
            if any(c.code == coupon.code for c in self.coupons.values()):
                continue
            if origin.ref is not None and await self.from_origin(origin, coupon.member_id):
                continue
            require(coupon.member_id in self.db.members.members, "coupons_member_id_fkey")
            require(
                coupon.template_id in self.db.coupon_templates.templates,
                "coupons_template_id_fkey",
            )
            self.coupons[coupon.id] = replace(copy.deepcopy(coupon), source=origin.source)
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

    async def redeemed_counts(self, template_ids: Collection[UUID]) -> dict[UUID, int]:
        counts: dict[UUID, int] = {}
        for c in self.coupons.values():
            if c.template_id in template_ids and c.status is CouponStatus.REDEEMED:
                counts[c.template_id] = counts.get(c.template_id, 0) + 1
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
        require(sale_id in self.db.sales.sales, "coupons_redeemed_sale_id_fkey")
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
