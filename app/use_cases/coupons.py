"""Coupons in members' wallets: issued by admins, listed for members and tills."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.unit_of_work import (
    WithAudit,
    WithSegments,
)
from app.use_cases.coupon_issuing import (
    CouponIssuingUnit,
    Issued,
    Issuer,
    SkipReason,
    issue_from_template,
)
from app.use_cases.crm import segment_members
from domain.coupon_repositories import CampaignSkip, IssuedFrom
from domain.coupons import Coupon, CouponSource, CouponStatus
from domain.crm import SegmentSpec
from domain.errors import CouponNotFound, CouponNotVoidable, InvalidInput
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord


class CouponsUnit(CouponIssuingUnit, WithAudit, WithSegments, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


MAX_LISTED_MEMBERS = 1000
ISSUE_CHUNK = 5000
MAX_CAMPAIGN_KEY = 100
MAX_VOID_REASON = 500


@dataclass(frozen=True, slots=True)
class IssueCoupons:
    template_id: UUID
    member_ids: Sequence[UUID]
    actor: str
    campaign_key: str | None = None  # once per member per key, however often it is sent
    segment: SegmentSpec | None = None  # instead of member_ids: everyone in the segment


async def issue_coupons(
    cmd: IssueCoupons, uow: CouponsUnit, *, clock: Clock, random: RandomSource, ids: IdGenerator
) -> Issued:
    """Issues the template to the listed members, or to every member of a segment, honouring
    its limits (see coupon_issuing). A segment campaign needs a campaign key: sent again, it
    reaches only members who joined the segment since."""
    if cmd.campaign_key is not None and not 1 <= len(cmd.campaign_key) <= MAX_CAMPAIGN_KEY:
        raise InvalidInput(
            f"a campaign key has 1 to {MAX_CAMPAIGN_KEY} characters", field="campaign_key"
        )
    if (cmd.segment is None) == (not cmd.member_ids):
        raise InvalidInput("give either member_ids or a segment", field="member_ids")
    if cmd.segment is not None:
        if cmd.campaign_key is None:
            raise InvalidInput("a segment campaign needs a campaign_key", field="campaign_key")
        members = await segment_members(cmd.segment, uow, clock=clock)
    else:
        if not 1 <= len(cmd.member_ids) <= MAX_LISTED_MEMBERS:
            raise InvalidInput(
                f"list between 1 and {MAX_LISTED_MEMBERS} members; use a segment for more",
                field="member_ids",
            )
        members = list(cmd.member_ids)
    origin = (
        IssuedFrom(CouponSource.CAMPAIGN, cmd.campaign_key)
        if cmd.campaign_key is not None
        else IssuedFrom(CouponSource.ADMIN)
    )
    issuer = Issuer(clock.now(), random, ids)
    issued = await issue_from_template(uow, cmd.template_id, members[:ISSUE_CHUNK], origin, issuer)
    # A segment can hold hundreds of thousands: issued in chunks, all in this transaction and
    # under the template's lock, so the limits count every chunk before it.
    for start in range(ISSUE_CHUNK, len(members), ISSUE_CHUNK):
        more = await issue_from_template(
            uow, cmd.template_id, members[start : start + ISSUE_CHUNK], origin, issuer
        )
        issued = Issued(more.template, issued.coupons + more.coupons, issued.skipped + more.skipped)
    if cmd.campaign_key is not None:
        await _remember_campaign(cmd.campaign_key, issued, uow, issuer)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "coupons.issued",
            f"coupon_template:{cmd.template_id}",
            {
                "template_version": issued.template.version,
                "campaign_key": cmd.campaign_key,
                "segment": repr(cmd.segment) if cmd.segment else None,
                "issued": len(issued.coupons),
                "skipped": len(issued.skipped),
            },
        )
    )
    return issued


async def member_coupons(
    member_id: UUID,
    uow: CouponsUnit,
    *,
    clock: Clock,
    status: CouponStatus | None,
    after: UUID | None,
    limit: int,
) -> Sequence[Coupon]:
    return await uow.coupons.of_member(
        member_id, status=status, now=clock.now(), after=after, limit=limit
    )


async def usable_coupons(
    member_id: UUID, uow: CouponsUnit, *, clock: Clock, channel: str
) -> Sequence[Coupon]:
    return await uow.coupons.usable(member_id, clock.now(), channel)


# Not kept as a skip: the member received the campaign before (they are among its recipients),
# or the id named nobody (nothing to list).
_NOT_KEPT = {SkipReason.ALREADY_ISSUED, SkipReason.MEMBER_NOT_FOUND}


async def _remember_campaign(key: str, issued: Issued, uow: CouponsUnit, issuer: Issuer) -> None:
    skipped = {s.member_id: s.reason.value for s in issued.skipped if s.reason not in _NOT_KEPT}
    await uow.coupons.record_campaign(
        key,
        issued.template.id,
        reached=[c.member_id for c in issued.coupons],
        skipped=list(skipped.items()),
        at=issuer.now,
    )


async def campaign_recipients(
    campaign_key: str, uow: CouponsUnit, *, after: UUID | None, limit: int
) -> Sequence[Coupon]:
    """Who received the campaign: one coupon per member, by member id."""
    return await uow.coupons.campaign_recipients(campaign_key, after=after, limit=limit)


async def campaign_skips(
    campaign_key: str, uow: CouponsUnit, *, after: UUID | None, limit: int
) -> Sequence[CampaignSkip]:
    """Who the campaign left out and why (the latest sending's reason), by member id. A
    member reached by a later sending is no longer listed."""
    return await uow.coupons.campaign_skips(campaign_key, after=after, limit=limit)


@dataclass(frozen=True, slots=True)
class VoidCoupon:
    coupon_id: UUID
    reason: str
    actor: str


async def void_coupon(cmd: VoidCoupon, uow: CouponsUnit, *, clock: Clock) -> Coupon:
    """Withdraws an issued coupon that has not been used (audited with the reason). Against
    a till redeeming it at the same instant, one statement each decides: the void and the
    redemption both change the coupon only while it is available, so exactly one of them
    wins; the other gets 409 coupon_not_voidable or 422 coupon_not_redeemable."""
    reason = cmd.reason.strip()
    if not 1 <= len(reason) <= MAX_VOID_REASON:
        raise InvalidInput(f"a reason has 1 to {MAX_VOID_REASON} characters", field="reason")
    coupon = await uow.coupons.get(cmd.coupon_id)
    if coupon is None:
        raise CouponNotFound()
    now = clock.now()
    if not await uow.coupons.void(coupon.id, now):
        current = await uow.coupons.get(coupon.id)
        status = current.status_at(now).value if current else "gone"
        raise CouponNotVoidable(f"the coupon is {status}; only an available coupon is voided")
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "coupon.voided",
            f"coupon:{coupon.id}",
            {
                "member_id": str(coupon.member_id),
                "template_id": str(coupon.template_id),
                "reason": reason,
            },
        )
    )
    coupon.status = CouponStatus.VOIDED
    return coupon
