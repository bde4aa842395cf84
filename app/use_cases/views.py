"""What use cases answer with: plain, frozen read models built from aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithPoints, WithTiers
from domain.members import Member
from domain.points import PointsAccount
from domain.tiers import Tier


class ViewsUnit(WithPoints, WithTiers, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class TierView:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Balances:
    available: int
    pending: int

    @classmethod
    def of(cls, account: PointsAccount) -> Balances:
        return cls.of_totals(
            available=account.available,
            debt=account.debt,
            frozen=account.frozen,
            pending=account.pending,
        )

    @classmethod
    def of_totals(cls, *, available: int, debt: int, frozen: int, pending: int) -> Balances:
        # A debt shows as a negative balance; points frozen by a payment dispute are the
        # member's but cannot be spent yet.
        return cls(available=available - debt - frozen, pending=pending)


@dataclass(frozen=True, slots=True)
class MemberSummary:
    member_id: UUID
    card_number: str
    display_name: str
    name: str | None
    birthday: date | None
    tier: TierView
    points: Balances


async def tier_of(uow: ViewsUnit, member: Member) -> Tier:
    ladder = await uow.tiers.ladder()
    return ladder.get(member.tier_code) or ladder.entry_tier


async def member_summary(uow: ViewsUnit, member: Member) -> MemberSummary:
    tier = await tier_of(uow, member)
    account = await uow.points.get(member.id)
    return MemberSummary(
        member_id=member.id,
        card_number=member.card_number,
        display_name=member.display_name,
        name=member.name,
        birthday=member.birthday,
        tier=TierView(tier.code, tier.name),
        points=Balances.of(account),
    )
