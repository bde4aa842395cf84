"""Issuing coupons from a template: the one path every coupon takes into a wallet.

Admin issues, review rewards, prize draws, birthdays and campaigns all come through here, so
limits, codes and the copy of the terms are the same for each. The template is locked for the
whole issue: two issues of one template run one after the other, which is what makes a total
limit of 100 give exactly 100 however many requests race for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from app.unit_of_work import (
    WithCoupons,
    WithCouponTemplates,
    WithIntegrationEvents,
    WithMembers,
    WithOutbox,
    WithProgram,
)
from domain import integration_events
from domain.coupon_codes import new_code
from domain.coupon_repositories import IssuedFrom
from domain.coupons import Coupon, CouponTemplate
from domain.errors import CouponTemplateClosed, CouponTemplateNotFound, CouponTemplateRetired
from domain.notifications import coupon_issued
from domain.ports import IdGenerator, RandomSource


class CouponIssuingUnit(
    WithCouponTemplates,
    WithCoupons,
    WithIntegrationEvents,
    WithMembers,
    WithOutbox,
    WithProgram,
    Protocol,
):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


# A code collision needs two equal 70-bit draws; three rounds make a stuck issue impossible
# in practice while still bounding the loop.
CODE_ATTEMPTS = 3


class SkipReason(StrEnum):
    MEMBER_NOT_FOUND = "member_not_found"
    MEMBER_ERASED = "member_erased"  # nothing is given to a member whose data was erased
    PER_MEMBER_LIMIT = "per_member_limit_reached"
    TOTAL_LIMIT = "total_limit_reached"
    ALREADY_ISSUED = "already_issued"  # this origin (order, year, campaign) already gave one


@dataclass(frozen=True, slots=True)
class Skipped:
    member_id: UUID
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class Issued:
    template: CouponTemplate
    coupons: tuple[Coupon, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True, slots=True)
class Issuer:
    """What issuing needs from outside: time, randomness for codes, ids."""

    now: datetime
    random: RandomSource
    ids: IdGenerator


async def issue_from_template(
    uow: CouponIssuingUnit,
    template_id: UUID,
    member_ids: Sequence[UUID],
    origin: IssuedFrom,
    issuer: Issuer,
    *,
    enforce_limits: bool = True,
) -> Issued:
    """Issues one coupon to each listed member, in the order given, as far as limits allow.

    Members who do not exist or were erased, who hold ``per_member_limit`` coupons of the
    template, who already have a coupon from ``origin`` (when it has a ref), or who come after
    the total limit ran out are skipped with the reason. Prizes pass ``enforce_limits=False``: their
    stock is the limit.
    """
    template = await uow.coupon_templates.get_for_update(template_id)
    if template is None:
        raise CouponTemplateNotFound()
    if not template.active:
        raise CouponTemplateRetired()
    if template.validity.closed_at(issuer.now):
        raise CouponTemplateClosed()
    wanted = list(dict.fromkeys(member_ids))
    known = await uow.members.existing(wanted)
    skipped = [Skipped(m, SkipReason.MEMBER_NOT_FOUND) for m in wanted if m not in known]
    skipped += [Skipped(m, SkipReason.MEMBER_ERASED) for m in wanted if known.get(m)]
    candidates = [m for m in wanted if known.get(m) is False]
    if origin.ref is not None:
        holders = await uow.coupons.holders(origin, candidates)
        skipped += [Skipped(m, SkipReason.ALREADY_ISSUED) for m in candidates if m in holders]
        candidates = [m for m in candidates if m not in holders]
    if enforce_limits and template.per_member_limit is not None:
        counts = await uow.coupons.per_member_counts(template.id, candidates)
        full = {m for m in candidates if counts.get(m, 0) >= template.per_member_limit}
        skipped += [Skipped(m, SkipReason.PER_MEMBER_LIMIT) for m in candidates if m in full]
        candidates = [m for m in candidates if m not in full]
    if enforce_limits and template.remaining is not None:
        skipped += [Skipped(m, SkipReason.TOTAL_LIMIT) for m in candidates[template.remaining :]]
        candidates = candidates[: template.remaining]
    coupons = await _store(uow, template, candidates, origin, issuer)
    if coupons:
        await uow.coupon_templates.count_issued(template.id, len(coupons))
        # Told in the same transaction: a rolled-back issue sends nothing.
        await uow.outbox.add_all(
            [coupon_issued(c, issuer.now, origin.source.value) for c in coupons]
        )
        await uow.integration_events.publish_all(
            [integration_events.coupon_issued(c, issuer.now) for c in coupons]
        )
    return Issued(template, tuple(coupons), tuple(skipped))


async def _store(
    uow: CouponIssuingUnit,
    template: CouponTemplate,
    member_ids: Sequence[UUID],
    origin: IssuedFrom,
    issuer: Issuer,
) -> list[Coupon]:
    program = await uow.program.get()
    valid_from, expires_at = template.validity.window_for(issuer.now, program.zone)
    pending = [
        Coupon(
            id=issuer.ids.new_id(),
            code=new_code(issuer.random),
            member_id=member_id,
            template_id=template.id,
            template_version=template.version,
            title=template.name,
            terms=template.terms,
            valid_from=valid_from,
            expires_at=expires_at,
            issued_at=issuer.now,
            source=origin.source,
        )
        for member_id in member_ids
    ]
    stored: list[Coupon] = []
    for _ in range(CODE_ATTEMPTS):
        if not pending:
            return stored
        kept = await uow.coupons.add(pending, origin)
        stored += [c for c in pending if c.id in kept]
        refused = [c for c in pending if c.id not in kept]
        # A coupon is refused for its code (draw a new one) or because a concurrent issue
        # from the same origin got there first (nothing more to do for that member).
        taken = await uow.coupons.holders(origin, [c.member_id for c in refused])
        pending = [
            _with_new_code(c, issuer.random)
            for c in refused
            if origin.ref is None or c.member_id not in taken
        ]
    if pending:
        raise RuntimeError(f"could not draw unique coupon codes after {CODE_ATTEMPTS} rounds")
    return stored


def _with_new_code(coupon: Coupon, random: RandomSource) -> Coupon:
    coupon.code = new_code(random)
    return coupon
