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
from app.use_cases.coupon_issuing import CouponIssuingUnit, Issued, Issuer, issue_from_template
from app.use_cases.crm import segment_members
from domain.coupon_repositories import IssuedFrom
from domain.coupons import Coupon, CouponSource, CouponStatus
from domain.crm import SegmentSpec
from domain.errors import InvalidInput
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord


class CouponsUnit(CouponIssuingUnit, WithAudit, WithSegments, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


MAX_LISTED_MEMBERS = 1000
ISSUE_CHUNK = 5000
MAX_CAMPAIGN_KEY = 100


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
