from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from adapters.http.schemas.common import Day, Input, Money, Output, Page, Timestamp
from app.use_cases.coupon_issuing import Issued, Skipped
from app.use_cases.coupon_templates import TemplateDefinition
from domain.coupon_codes import display
from domain.coupon_repositories import BirthdayReward, ReviewReward
from domain.coupons import (
    CHANNELS,
    Coupon,
    CouponKind,
    CouponTemplate,
    CouponTerms,
    Validity,
)
from domain.crm import SegmentSpec, parse_segment_spec

Channel = Literal["pos", "web"]
Category = Annotated[str, Meta(min_length=1, max_length=64)]


class CouponTemplateIn(Input, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    kind: Literal["fixed", "percent"]
    value: Annotated[
        int, Meta(description="fixed: minor units (> 0); percent: whole percent 1-100")
    ]
    min_spend: Money = 0
    valid_days: Annotated[int, Meta(description="days after issue, 1-3660")] | None = None
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None
    per_member_limit: Annotated[int, Meta(ge=1, le=10_000_000)] | None = None
    total_limit: Annotated[int, Meta(ge=1, le=10_000_000)] | None = None
    channels: Annotated[list[Channel], Meta(min_length=1, max_length=2)] | None = None
    stackable: bool = False
    categories: (
        Annotated[
            list[Category],
            Meta(max_length=50, description="eligible line categories; none: every line"),
        ]
        | None
    ) = None

    def to_definition(self) -> TemplateDefinition:
        terms = CouponTerms(
            kind=CouponKind(self.kind),
            value=self.value,
            min_spend=self.min_spend,
            channels=frozenset(self.channels) if self.channels else CHANNELS,
            stackable=self.stackable,
            categories=frozenset(self.categories or ()),
        )
        validity = Validity(self.valid_days, self.valid_from, self.valid_until)
        return TemplateDefinition(
            name=self.name,
            terms=terms,
            validity=validity,
            per_member_limit=self.per_member_limit,
            total_limit=self.total_limit,
        )


class CouponTemplateOut(Output, kw_only=True):
    id: UUID
    version: int
    name: str
    kind: str
    value: int
    min_spend: int
    valid_days: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    per_member_limit: int | None
    total_limit: int | None
    channels: list[str]
    stackable: bool
    categories: list[str]
    issued: int
    remaining: int | None
    created_at: datetime | None
    active: Annotated[bool, Meta(description="false once retired: it issues nothing more")] = True
    retired_at: datetime | None = None

    @classmethod
    def of(cls, t: CouponTemplate) -> CouponTemplateOut:
        return cls(
            id=t.id,
            version=t.version,
            name=t.name,
            kind=t.terms.kind.value,
            value=t.terms.value,
            min_spend=t.terms.min_spend,
            valid_days=t.validity.valid_days,
            valid_from=t.validity.valid_from,
            valid_until=t.validity.valid_until,
            per_member_limit=t.per_member_limit,
            total_limit=t.total_limit,
            channels=sorted(t.terms.channels),
            stackable=t.terms.stackable,
            categories=sorted(t.terms.categories),
            issued=t.issued,
            remaining=t.remaining,
            created_at=t.created_at,
            active=t.active,
            retired_at=t.retired_at,
        )


class CouponTemplatePageOut(Page, kw_only=True):
    items: list[CouponTemplateOut]


class RetireTemplateIn(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=500)] | None = None


class VoidCouponIn(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


class CouponStateOut(Output, kw_only=True):
    """An issued coupon as the back office sees it (the code is the member's: not shown)."""

    coupon_id: UUID
    member_id: UUID
    template_id: UUID
    template_version: int
    title: str
    status: str
    issued_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, coupon: Coupon, now: datetime) -> CouponStateOut:
        return cls(
            coupon_id=coupon.id,
            member_id=coupon.member_id,
            template_id=coupon.template_id,
            template_version=coupon.template_version,
            title=coupon.title,
            status=coupon.status_at(now).value,
            issued_at=coupon.issued_at,
            expires_at=coupon.expires_at,
        )


class CampaignRecipientPageOut(Page, kw_only=True):
    items: list[CouponStateOut]


class CampaignSkipOut(Output, kw_only=True):
    member_id: UUID
    template_id: UUID
    reason: Annotated[
        str,
        Meta(
            description="member_erased, per_member_limit_reached or total_limit_reached, as "
            "the latest sending found it"
        ),
    ]
    skipped_at: datetime


class CampaignSkipPageOut(Page, kw_only=True):
    items: list[CampaignSkipOut]


class SegmentIn(Input, kw_only=True):
    """Exactly one of rfm, lifecycle, tier (see GET /v1/admin/segments/preview)."""

    rfm: Annotated[str, Meta(max_length=64)] | None = None
    lifecycle: Annotated[str, Meta(max_length=64)] | None = None
    tier: Annotated[str, Meta(max_length=64)] | None = None
    as_of: Day | None = None
    window_days: int | None = None

    def to_spec(self) -> SegmentSpec:
        return parse_segment_spec(
            {
                "rfm": self.rfm,
                "lifecycle": self.lifecycle,
                "tier": self.tier,
                "as_of": self.as_of,
                "window_days": self.window_days,
            }
        )


class IssueCouponsIn(Input, kw_only=True):
    template_id: UUID
    member_ids: Annotated[list[UUID], Meta(min_length=1, max_length=1000)] | None = None
    segment: (
        Annotated[
            SegmentIn,
            Meta(
                description="instead of member_ids: every member in the segment (needs "
                "campaign_key; preview the reach with GET /v1/admin/segments/preview)"
            ),
        ]
        | None
    ) = None
    campaign_key: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=100,
                description="each member gets at most one coupon per campaign key",
            ),
        ]
        | None
    ) = None


class IssuedCouponOut(Output, kw_only=True):
    member_id: UUID
    coupon_id: UUID
    code: str
    expires_at: datetime


class SkippedMemberOut(Output, kw_only=True):
    member_id: UUID
    reason: str


class IssueCouponsOut(Output, kw_only=True):
    template_id: UUID
    template_version: int
    issued_count: int
    skipped_count: int
    issued: Annotated[
        list[IssuedCouponOut], Meta(description="listed for member_ids; empty for a segment")
    ]
    skipped: Annotated[
        list[SkippedMemberOut], Meta(description="listed for member_ids; empty for a segment")
    ]

    @classmethod
    def of(cls, issued: Issued, *, itemised: bool = True) -> IssueCouponsOut:
        if not itemised:
            issued_items: tuple[Coupon, ...] = ()
            skipped_items: tuple[Skipped, ...] = ()
        else:
            issued_items, skipped_items = issued.coupons, issued.skipped
        return cls(
            template_id=issued.template.id,
            template_version=issued.template.version,
            issued_count=len(issued.coupons),
            skipped_count=len(issued.skipped),
            issued=[
                IssuedCouponOut(
                    member_id=c.member_id,
                    coupon_id=c.id,
                    code=display(c.code),
                    expires_at=c.expires_at,
                )
                for c in issued_items
            ],
            skipped=[
                SkippedMemberOut(member_id=s.member_id, reason=s.reason) for s in skipped_items
            ],
        )


class MyCouponOut(Output, kw_only=True):
    coupon_id: UUID
    code: str
    title: str
    kind: str
    value: int
    min_spend: int
    channels: list[str]
    stackable: bool
    categories: list[str]
    valid_from: datetime
    expires_at: datetime
    status: str
    redeemed_at: datetime | None

    @classmethod
    def of(cls, coupon: Coupon, now: datetime) -> MyCouponOut:
        return cls(
            coupon_id=coupon.id,
            code=display(coupon.code),
            title=coupon.title,
            kind=coupon.terms.kind.value,
            value=coupon.terms.value,
            min_spend=coupon.terms.min_spend,
            channels=sorted(coupon.terms.channels),
            stackable=coupon.terms.stackable,
            categories=sorted(coupon.terms.categories),
            valid_from=coupon.valid_from,
            expires_at=coupon.expires_at,
            status=coupon.status_at(now).value,
            redeemed_at=coupon.redeemed_at,
        )


class MyCouponPageOut(Page, kw_only=True):
    items: list[MyCouponOut]


class ReviewRewardIo(Input, kw_only=True):
    enabled: bool
    min_rating: Annotated[int, Meta(ge=1, le=5)] = 5
    template_id: UUID | None = None

    @classmethod
    def of(cls, settings: ReviewReward) -> ReviewRewardIo:
        return cls(
            enabled=settings.enabled,
            min_rating=settings.min_rating,
            template_id=settings.template_id,
        )


class BirthdayRewardIo(Input, kw_only=True):
    enabled: bool
    template_id: UUID | None = None
    days_ahead: Annotated[
        int, Meta(ge=0, le=60, description="issue this many days before the birthday")
    ] = 7

    @classmethod
    def of(cls, settings: BirthdayReward) -> BirthdayRewardIo:
        return cls(
            enabled=settings.enabled,
            template_id=settings.template_id,
            days_ahead=settings.days_ahead,
        )
