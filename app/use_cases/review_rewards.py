"""A coupon for a good review of one's own order: configured by admins, given once per order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from app.unit_of_work import (
    WithAudit,
    WithRewards,
    WithSales,
)
from app.use_cases.coupon_issuing import CouponIssuingUnit, Issuer, issue_from_template
from domain.coupon_repositories import IssuedFrom, ReviewReward
from domain.coupons import Coupon, CouponSource
from domain.errors import (
    CouponTemplateClosed,
    CouponTemplateNotFound,
    InvalidInput,
    OrderNotFound,
)
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord


class ReviewRewardsUnit(CouponIssuingUnit, WithAudit, WithRewards, WithSales, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


async def get_review_reward(uow: ReviewRewardsUnit) -> ReviewReward:
    return await uow.rewards.review_reward()


async def set_review_reward(
    enabled: bool, min_rating: int, template_id: UUID | None, actor: str, uow: ReviewRewardsUnit
) -> ReviewReward:
    if not 1 <= min_rating <= 5:
        raise InvalidInput("min_rating is between 1 and 5", field="min_rating")
    if enabled and template_id is None:
        raise InvalidInput("an enabled review reward needs a template", field="template_id")
    if template_id is not None and await uow.coupon_templates.get(template_id) is None:
        raise CouponTemplateNotFound()
    current = await uow.rewards.review_reward()
    settings = ReviewReward(enabled, min_rating, template_id, current.version + 1)
    await uow.rewards.save_review_reward(settings)
    await uow.audit.record(
        AuditRecord(
            actor,
            "review_reward.updated",
            "review_reward",
            {
                "enabled": enabled,
                "min_rating": min_rating,
                "template_id": str(template_id) if template_id else None,
                "version": settings.version,
            },
        )
    )
    return settings


class NotRewarded(StrEnum):
    DISABLED = "disabled"
    RATING_TOO_LOW = "rating_below_minimum"
    FULLY_REFUNDED = "order_fully_refunded"
    LIMIT_REACHED = "limit_reached"
    TEMPLATE_CLOSED = "template_closed"  # the configured template no longer issues coupons


@dataclass(frozen=True, slots=True)
class ReviewPosted:
    review_id: str
    order_id: str  # the online sale's receipt id
    rating: int
    member_id: UUID


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    coupon: Coupon | None
    not_rewarded: NotRewarded | None = None
    already_rewarded: bool = False


async def reward_review(
    event: ReviewPosted,
    uow: ReviewRewardsUnit,
    *,
    clock: Clock,
    random: RandomSource,
    ids: IdGenerator,
) -> ReviewOutcome:
    """One coupon for a review of the member's own paid, not fully refunded order rated at
    least ``min_rating``; the same order never earns a second one, however often the event
    arrives (backed by the coupons' unique (source, ref, member))."""
    if not 1 <= event.rating <= 5:
        raise InvalidInput("rating is between 1 and 5", field="rating")
    sale = await uow.sales.of_member_by_receipt(event.member_id, event.order_id)
    if sale is None:
        raise OrderNotFound(f"member has no order {event.order_id!r}")
    origin = IssuedFrom(CouponSource.REVIEW, f"sale:{sale.id}")
    existing = await uow.coupons.from_origin(origin, event.member_id)
    if existing is not None:
        return ReviewOutcome(existing, already_rewarded=True)
    settings = await uow.rewards.review_reward()
    if not settings.enabled or settings.template_id is None:
        return ReviewOutcome(None, NotRewarded.DISABLED)
    if event.rating < settings.min_rating:
        return ReviewOutcome(None, NotRewarded.RATING_TOO_LOW)
    if sale.fully_refunded:
        return ReviewOutcome(None, NotRewarded.FULLY_REFUNDED)
    try:
        issued = await issue_from_template(
            uow, settings.template_id, [event.member_id], origin, Issuer(clock.now(), random, ids)
        )
    except CouponTemplateClosed:
        return ReviewOutcome(None, NotRewarded.TEMPLATE_CLOSED)
    if issued.coupons:
        return ReviewOutcome(issued.coupons[0])
    # Lost a race with the same event, or the template's limits are used up.
    existing = await uow.coupons.from_origin(origin, event.member_id)
    if existing is not None:
        return ReviewOutcome(existing, already_rewarded=True)
    return ReviewOutcome(None, NotRewarded.LIMIT_REACHED)
