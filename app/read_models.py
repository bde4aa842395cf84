"""What the till and the member app read about one member, as one query each (issue #7).

A lookup at the till or the app's home screen runs thousands of times an hour per store; read
through the repositories it is six statements in a transaction. This port answers each read
at once, so an adapter can make it one statement (one snapshot, so it is also consistent
without a transaction). ``UnitOfWorkMemberReads`` answers the same questions through the
repositories: it is the reference the one-statement adapter is tested against, and what the
use case tests run on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from app.use_cases.views import Balances, TierView, tier_of
from domain.cards import CardStatus
from domain.members import Member
from domain.points import PointsAccount, Reference

# The till lists at most this many usable coupons, soonest-expiring first.
MAX_LISTED_COUPONS = 100


@dataclass(frozen=True, slots=True)
class PointsTotals:
    available: int  # the account's available points, debt not deducted
    pending: int
    debt: int
    frozen: int  # available points of lots frozen by a payment dispute

    @classmethod
    def of(cls, account: PointsAccount) -> PointsTotals:
        return cls(account.available, account.pending, account.debt, account.frozen)

    def balances(self) -> Balances:
        return Balances.of_totals(
            available=self.available, debt=self.debt, frozen=self.frozen, pending=self.pending
        )


@dataclass(frozen=True, slots=True)
class CouponView:
    code: str  # canonical
    title: str
    kind: str
    value: int
    min_spend: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class MemberAtTill:
    member: Member
    tier: TierView
    points: PointsTotals
    coupons: Sequence[CouponView]  # usable on the channel now, soonest-expiring first


@dataclass(frozen=True, slots=True)
class CardAtTill:
    status: CardStatus
    holder: MemberAtTill | None  # None if the card's member has no active card


@dataclass(frozen=True, slots=True)
class Expiring:
    points: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class MemberInApp:
    member: Member
    tier: TierView
    points: PointsTotals
    expiring: Sequence[Expiring]  # by instant, soonest first


class MemberReads(Protocol):
    """Members as the till and the app see them. The member is the one with an active card;
    the tier is the member's, or the entry tier if the ladder lacks it; the coupons are the
    member's available ones valid at ``now`` on ``channel`` (at most MAX_LISTED_COUPONS, by
    expiry then id); ``expiring`` sums, per expiry instant in (now, until], what is left of
    the member's spendable lots (not pending, not frozen)."""

    async def card_at_till(
        self, card_number: str, *, now: datetime, channel: str
    ) -> CardAtTill | None: ...

    async def phone_at_till(
        self, phone: str, *, now: datetime, channel: str
    ) -> MemberAtTill | None: ...

    async def member_at_till(
        self, member_id: UUID, *, now: datetime, channel: str
    ) -> MemberAtTill | None: ...

    async def in_app(
        self, member_id: UUID, *, now: datetime, until: datetime
    ) -> MemberInApp | None: ...

    async def is_erased(self, member_id: UUID) -> bool:
        """Whether this member's personal data was erased (False for no such member)."""
        ...


class UnitOfWorkMemberReads:
    """The port answered through the repositories, one statement per question."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def is_erased(self, member_id: UUID) -> bool:
        async with self._uow() as uow:
            member = await uow.members.get(member_id)
            return member is not None and member.erased

    async def card_at_till(
        self, card_number: str, *, now: datetime, channel: str
    ) -> CardAtTill | None:
        async with self._uow() as uow:
            card = await uow.members.find_card(card_number)
            if card is None:
                return None
            member = await uow.members.get(card.member_id)
            holder = await _at_till(uow, member, now, channel) if member else None
            return CardAtTill(card.status, holder)

    async def phone_at_till(
        self, phone: str, *, now: datetime, channel: str
    ) -> MemberAtTill | None:
        async with self._uow() as uow:
            member = await uow.members.get_by_phone(phone)
            return await _at_till(uow, member, now, channel) if member else None

    async def member_at_till(
        self, member_id: UUID, *, now: datetime, channel: str
    ) -> MemberAtTill | None:
        async with self._uow() as uow:
            member = await uow.members.get(member_id)
            return await _at_till(uow, member, now, channel) if member else None

    async def in_app(
        self, member_id: UUID, *, now: datetime, until: datetime
    ) -> MemberInApp | None:
        async with self._uow() as uow:
            member = await uow.members.get(member_id)
            if member is None:
                return None
            tier = await tier_of(uow, member)
            account = await uow.points.get(member_id)
            by_instant: dict[datetime, int] = {}
            for lot in account.expiring(now, until):
                assert lot.expires_at is not None
                by_instant[lot.expires_at] = by_instant.get(lot.expires_at, 0) + lot.remaining
            return MemberInApp(
                member,
                TierView(tier.code, tier.name),
                PointsTotals.of(account),
                [Expiring(points, at) for at, points in sorted(by_instant.items())],
            )


async def _at_till(uow: UnitOfWork, member: Member, now: datetime, channel: str) -> MemberAtTill:
    tier = await tier_of(uow, member)
    account = await uow.points.get(member.id)
    coupons = await uow.coupons.usable(member.id, now, channel)
    return MemberAtTill(
        member,
        TierView(tier.code, tier.name),
        PointsTotals.of(account),
        [
            CouponView(
                c.code, c.title, c.terms.kind.value, c.terms.value, c.terms.min_spend, c.expires_at
            )
            for c in coupons[:MAX_LISTED_COUPONS]
        ],
    )


@dataclass(frozen=True, slots=True)
class EntrySource:
    """The purchase a ledger entry comes from: a sale's entries (earn, redeem) and its
    refunds' entries (reverse, restore) name the receipt, the store and the channel."""

    sale_id: UUID
    receipt_id: str
    channel: str  # pos or web
    store_id: UUID
    store_name: str
    refund_id: str | None = None  # the refund's own id, for a refund's entries


class LedgerSources(Protocol):
    async def of(self, references: Sequence[Reference]) -> dict[Reference, EntrySource]:
        """The purchase behind each reference that names a sale or a refund of one; other
        references (adjustments, expiry runs) are left out. One statement."""
        ...
