"""The 360-degree view a service agent needs while talking to a customer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from app.read_models import EntrySource, LedgerSources
from app.unit_of_work import (
    WithCoupons,
    WithFeedback,
    WithMembers,
    WithSales,
    WithShop,
)
from app.use_cases.crm import CrmUnit, crm_profile
from app.use_cases.views import Balances, TierView, ViewsUnit, tier_of
from domain.cards import MemberCard
from domain.coupons import Coupon
from domain.crm import MemberCrmProfile
from domain.errors import MemberNotFound
from domain.feedback import Feedback
from domain.members import Member
from domain.points import LedgerEntry, Lot, Reference
from domain.ports import Clock
from domain.repositories import TierChangeRecord
from domain.sales import Sale


class Member360Unit(
    CrmUnit, ViewsUnit, WithCoupons, WithFeedback, WithMembers, WithSales, WithShop, Protocol
):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


RECENT = 50


@dataclass(frozen=True, slots=True)
class MemberOverview:
    member: Member
    cards: Sequence[MemberCard]
    tier: TierView
    balances: Balances
    debt: int
    lots: Sequence[Lot]
    ledger: Sequence[LedgerEntry]
    sales: Sequence[Sale]
    tier_history: Sequence[TierChangeRecord]  # newest first
    coupons: Sequence[Coupon] = ()  # newest first
    shop_customer_ids: Sequence[str] = ()  # the web shop's ids for this member
    feedback: Sequence[Feedback] = ()  # newest first
    frozen_points: int = 0  # available but held back by payment disputes
    crm: MemberCrmProfile | None = None  # RFM scores, segment and lifecycle stage today
    ledger_sources: Mapping[Reference, EntrySource] = field(default_factory=dict)


async def member_overview(
    member_id: UUID,
    uow: Member360Unit,
    clock: Clock | None = None,
    sources: LedgerSources | None = None,
) -> MemberOverview:
    member = await uow.members.get(member_id)
    if member is None:
        raise MemberNotFound()
    tier = await tier_of(uow, member)
    account = await uow.points.get(member_id)
    ledger = await uow.points.entries(member_id, before_id=None, limit=RECENT)
    return MemberOverview(
        member=member,
        cards=await uow.members.cards_of(member_id),
        tier=TierView(tier.code, tier.name),
        balances=Balances.of(account),
        debt=account.debt,
        lots=account.lots,
        ledger=ledger,
        sales=await uow.sales.recent_for_member(member_id, RECENT),
        tier_history=await uow.members.tier_history(member_id),
        coupons=await uow.coupons.of_member(
            member_id, status=None, now=member.enrolled_at, after=None, limit=RECENT
        ),
        shop_customer_ids=await uow.shop.customers_of(member_id),
        feedback=await uow.feedback.of_member(member_id, RECENT),
        frozen_points=account.frozen,
        crm=await crm_profile(member_id, uow, clock=clock) if clock else None,
        ledger_sources=await sources.of([e.reference for e in ledger]) if sources else {},
    )


@dataclass(frozen=True, slots=True)
class MemberLedgerPage:
    entries: Sequence[LedgerEntry]
    next_before_id: int | None
    sources: Mapping[Reference, EntrySource] = field(default_factory=dict)


async def member_ledger(
    member_id: UUID,
    uow: Member360Unit,
    *,
    before_id: int | None,
    limit: int,
    sources: LedgerSources | None = None,
) -> MemberLedgerPage:
    """A member's ledger for the back office, newest first, a page at a time (erased members
    too: their books are kept)."""
    if await uow.members.get(member_id) is None:
        raise MemberNotFound()
    rows = await uow.points.entries(member_id, before_id=before_id, limit=limit + 1)
    page = list(rows[:limit])
    next_before = page[-1].id if len(rows) > limit and page else None
    found = await sources.of([e.reference for e in page]) if sources and page else {}
    return MemberLedgerPage(page, next_before, found)
