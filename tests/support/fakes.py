"""Small dict-backed fakes of the core's ports, for use-case tests without a database.

They follow the Protocols' documented semantics (False on a duplicate, newest-first ledger
pages, ...) and restate the database's constraints that the domain relies on (unique posting
keys, non-negative balances), so a bug shows up as an error here too. Aggregates are copied on
the way in and out, as a database would: mutating a loaded object changes nothing until it is
saved.
"""

from __future__ import annotations

import copy
import random as _random
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from uuid import UUID
from zoneinfo import ZoneInfo

from app.idempotency_store import IdempotencyClaim, IdempotencyStore, StoredResponse
from app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.cards import CardStatus, MemberCard
from domain.contacts import ContactNormaliser
from domain.crm import (
    DEFAULT_WINDOW_DAYS,
    CrmSettings,
    LifecycleSegmentSpec,
    LifecycleStage,
    MemberCrmProfile,
    RfmScore,
    RfmValues,
    SegmentResolver,
    SegmentSpec,
    TierSegmentSpec,
    score_members,
)
from domain.errors import InvalidEmail, InvalidInput, InvalidPhoneNumber, TierPolicyChanged
from domain.feedback import Feedback, FeedbackKind, FeedbackPage, FeedbackStatus
from domain.follow_ups import FollowUp, FollowUpListing, FollowUpRepository, FollowUpStatus
from domain.login import (
    LoginChallenge,
    LoginChallengeRepository,
    RateLimit,
    RateLimiter,
    RefreshToken,
    RefreshTokenRepository,
)
from domain.login import window_start as login_window_start
from domain.members import Member
from domain.notifications import (
    DeliveryFailed,
    MemberNotifier,
    Notification,
    NotificationKind,
    Outbox,
    SecretBox,
    SmsSender,
    tier_changed,
)
from domain.payments import StripePayment
from domain.points import Consumption, LedgerEntry, Lot, PointsAccount
from domain.ports import Clock, IdGenerator, RandomSource
from domain.program import DEFAULT_PROGRAM, ProgramSettings
from domain.repositories import (
    AuditLog,
    AuditRecord,
    Buyer,
    MemberRepository,
    PointsRepository,
    ProgramRepository,
    RecordedRefund,
    SaleRepository,
    StoreRepository,
    TierChangeRecord,
    TierEvent,
    TierRepository,
)
from domain.sales import IN_STORE, ONLINE, Sale
from domain.stores import Store, Terminal
from domain.tier_policy import (
    Decision,
    MemberTier,
    TierChange,
    TierChangeReason,
    TierPolicy,
)
from domain.tiers import BASE_TIER, TierLadder
from domain.webshop import ShopReview
from tests.support.fake_coupons import (
    FakeCouponRepository,
    FakeCouponTemplateRepository,
    FakeDrawRepository,
    FakeRewardSettingsRepository,
)
from tests.support.fake_member_privacy import FakeMemberPrivacyRepository

# Ports: time, randomness, identifiers, contact normalisation ------------------------------------


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)) -> None:
        self.set(now)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


class SequenceRandom:
    """``randbelow`` answers the scripted values first, then a seeded ``random.Random``."""

    def __init__(self, values: Sequence[int] = (), seed: int = 1234) -> None:
        self._values = list(values)
        self._rng = _random.Random(seed)

    def randbelow(self, exclusive_upper_bound: int) -> int:
        if self._values:
            value = self._values.pop(0)
            if not 0 <= value < exclusive_upper_bound:
                raise ValueError(f"scripted {value} is not below {exclusive_upper_bound}")
            return value
        return self._rng.randrange(exclusive_upper_bound)

    def token_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)


class SequentialIds:
    """UUIDs 00000000-...-000000000001, ...-000000000002, ... in order."""

    def __init__(self, start: int = 1) -> None:
        self._next = start
        self.issued: list[UUID] = []

    def new_id(self) -> UUID:
        value = UUID(int=self._next)
        self._next += 1
        self.issued.append(value)
        return value


_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164: no leading zero after the '+'
_CN_MOBILE = re.compile(r"1[0-9]{10}")


class FakeContacts:
    """'+' and 7-15 digits as is; an 11-digit Chinese mobile number gets '+86'."""

    def phone(self, raw: str) -> str:
        compact = re.sub(r"[\s-]", "", raw)
        if _INTERNATIONAL.fullmatch(compact):
            return compact
        if _CN_MOBILE.fullmatch(compact):
            return "+86" + compact
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number", field="phone")

    def email(self, raw: str) -> str:
        address = raw.strip().lower()
        if "@" not in address:
            raise InvalidEmail(field="email")
        return address


# Repositories ------------------------------------------------------------------------------


class ConstraintViolation(Exception):
    """What the database would raise: a UNIQUE or CHECK constraint was broken."""


class FakeMemberRepository:
    def __init__(self) -> None:
        self.members: dict[UUID, Member] = {}
        self.cards: dict[str, MemberCard] = {}
        self.tier_state: dict[UUID, tuple[datetime | None, datetime | None]] = {}
        self.history: dict[UUID, list[TierChangeRecord]] = {}

    async def add(self, member: Member) -> bool:
        if any(m.phone == member.phone for m in self.members.values()):
            return False
        if member.card_number in self.cards:
            raise ConstraintViolation(f"card number {member.card_number} is taken")
        self.members[member.id] = copy.deepcopy(member)
        self.cards[member.card_number] = MemberCard(
            member.card_number, member.id, CardStatus.ACTIVE, member.enrolled_at
        )
        return True

    async def get(self, member_id: UUID) -> Member | None:
        return copy.deepcopy(self.members.get(member_id))

    async def existing(self, member_ids: Sequence[UUID]) -> dict[UUID, bool]:
        return {m: self.members[m].erased for m in member_ids if m in self.members}

    async def hold(self, member_id: UUID) -> Member | None:
        return await self.get(member_id)  # one task at a time: nothing to lock against

    async def get_by_phone(self, phone: str) -> Member | None:
        found = next((m for m in self.members.values() if m.phone == phone), None)
        return copy.deepcopy(found)

    async def find_card(self, card_number: str) -> MemberCard | None:
        return self.cards.get(card_number)

    async def card_number_taken(self, card_number: str) -> bool:
        return card_number in self.cards

    async def standing(self, member_id: UUID) -> MemberTier:
        member = self.members[member_id]
        short, manual = self.tier_state.get(member_id, (None, None))
        return MemberTier(member.tier_code, short, manual)

    async def change_tier(self, member_id: UUID, decision: Decision, event: TierEvent) -> None:
        standing = decision.standing
        self.members[member_id].tier_code = standing.tier_code
        self.tier_state[member_id] = (standing.short_since, standing.manual_until)
        if decision.change is not None:
            self.history.setdefault(member_id, []).insert(
                0, TierChangeRecord(decision.change, event)
            )

    async def tier_history(self, member_id: UUID) -> list[TierChangeRecord]:
        return list(self.history.get(member_id, []))

    async def cards_of(self, member_id: UUID) -> list[MemberCard]:
        mine = [c for c in self.cards.values() if c.member_id == member_id]
        return sorted(mine, key=lambda c: c.issued_at, reverse=True)

    async def replace_card(self, member_id: UUID, new_card: MemberCard) -> None:
        if new_card.card_number in self.cards:
            raise ConstraintViolation(f"card number {new_card.card_number} is taken")
        for number, card in list(self.cards.items()):
            if card.member_id == member_id and card.status is CardStatus.ACTIVE:
                self.cards[number] = replace(card, status=CardStatus.BLOCKED)
        self.cards[new_card.card_number] = replace(
            new_card, member_id=member_id, status=CardStatus.ACTIVE
        )
        # A member is loaded with their active card's number.
        self.members[member_id].card_number = new_card.card_number

    def block_card(self, card_number: str) -> None:
        """Test helper: what replacing a lost card does to the old number."""
        self.cards[card_number] = replace(self.cards[card_number], status=CardStatus.BLOCKED)


@dataclass(frozen=True, slots=True)
class StoredMovement:
    """A row of the lot movements table: ``points`` added to lot ``lot_id`` by an entry."""

    member_id: UUID
    lot_id: int
    entry_id: int
    posting_key: str
    points: int


@dataclass(frozen=True, slots=True)
class StoredLot:
    """A row of the lots table (a value, unlike a Lot, so that snapshots compare equal)."""

    member_id: UUID
    lot: Lot

    @classmethod
    def of(cls, member_id: UUID, lot: Lot) -> StoredLot:
        return cls(member_id, copy.copy(lot))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredLot) and self._row() == other._row()

    def __hash__(self) -> int:
        return hash(self._row())

    def _row(self) -> tuple[object, ...]:
        lot = self.lot
        return (
            self.member_id,
            lot.id,
            lot.reference,
            lot.earned_at,
            lot.expires_at,
            lot.points,
            lot.remaining,
            lot.pending,
            lot.release_at,
            lot.frozen,
        )

    def load(self) -> Lot:
        return copy.copy(self.lot)


class FakePointsRepository:
    """Balances, lots, entries and movements, kept apart as the tables keep them.

    ``save`` restates the tables' constraints (balances and lots never negative, a lot's
    remaining between 0 and its points, unique posting keys, no zero movements) and what
    ``loyalty ledger verify`` reconciles: each lot's remaining is its points plus its
    movements, available and pending are the sums of the open lots, and available less debt
    is the sum of the member's entries. A domain bug therefore fails here as it would there.
    """

    def __init__(self) -> None:
        self.accounts: dict[UUID, PointsAccount] = {}  # balances only; lots live in ``lots``
        self.ledger: list[LedgerEntry] = []
        self.lots: dict[int, StoredLot] = {}  # every lot ever stored, closed ones too
        self.movements: list[StoredMovement] = []
        self._next_entry_id = 1
        self._next_lot_id = 1

    async def open_account(self, member_id: UUID) -> None:
        if member_id in self.accounts:
            raise ConstraintViolation(f"member {member_id} already has a points account")
        self.accounts[member_id] = PointsAccount(member_id=member_id)

    async def get(self, member_id: UUID) -> PointsAccount:
        if member_id not in self.accounts:
            return PointsAccount(member_id=member_id)
        return self._load(member_id)

    async def get_for_update(self, member_id: UUID) -> PointsAccount:
        if member_id not in self.accounts:
            raise LookupError(f"member {member_id} has no points account")
        return self._load(member_id)

    def _load(self, member_id: UUID) -> PointsAccount:
        stored = self.accounts[member_id]
        return PointsAccount(
            member_id=member_id,
            available=stored.available,
            pending=stored.pending,
            debt=stored.debt,
            lots=self.lots_of(member_id, only_open=True),
        )

    def lots_of(self, member_id: UUID, *, only_open: bool = False) -> list[Lot]:
        """The member's stored lots (copies) in the order they were created."""
        return [
            row.load()
            for row in self.lots.values()
            if row.member_id == member_id
            and (not only_open or row.lot.remaining > 0 or row.lot.pending)
        ]

    async def save(self, account: PointsAccount) -> None:
        # A refused save writes nothing, as a failed statement would roll back.
        saved = copy.deepcopy(vars(self))
        try:
            self._save(account)
        except BaseException:
            vars(self).update(saved)
            raise
        account.new_entries.clear()
        account.new_lots.clear()
        account.movements.clear()
        account.changed_lots.clear()
        account.released_lots.clear()

    def _save(self, account: PointsAccount) -> None:
        member_id = account.member_id
        if member_id not in self.accounts:
            raise LookupError(f"member {member_id} has no points account")
        if min(account.available, account.pending, account.debt) < 0 or (
            account.debt > 0 and account.available > 0
        ):
            raise ConstraintViolation(f"balances break a CHECK constraint: {account}")
        keys = {(e.member_id, e.posting_key) for e in self.ledger}
        for entry in account.new_entries:
            if entry.member_id != member_id:
                raise ConstraintViolation(f"entry {entry.posting_key!r} is another member's")
            if (entry.member_id, entry.posting_key) in keys:
                raise ConstraintViolation(f"posting key {entry.posting_key!r} was used")
            keys.add((entry.member_id, entry.posting_key))
        for lot in [*account.new_lots, *account.changed_lots]:
            _check_lot(lot)
        for lot in account.changed_lots:
            if lot not in account.new_lots and (
                lot.id is None
                or lot.id not in self.lots
                or self.lots[lot.id].member_id != member_id
            ):
                raise ConstraintViolation(f"lot {lot.id} of {lot.reference} is not stored")
        for movement in account.movements:
            if movement.points == 0:
                raise ConstraintViolation("a lot movement of zero points")
            if not any(movement.entry is e for e in account.new_entries):
                raise ConstraintViolation("a lot movement of an entry that is not being saved")

        # Lots first (they get their ids), then entries, then the lots' new state and the
        # movements, in the order the Postgres repository writes them.
        for lot in account.new_lots:
            if lot.id is not None:
                raise ConstraintViolation(f"lot {lot.id} is stored already")
            lot.id = self._next_lot_id
            self._next_lot_id += 1
        entry_ids: dict[int, int] = {}
        for entry in account.new_entries:
            entry_ids[id(entry)] = self._next_entry_id
            self.ledger.append(replace(entry, id=self._next_entry_id))
            self._next_entry_id += 1
        for lot in [*account.new_lots, *account.changed_lots]:
            assert lot.id is not None
            self.lots[lot.id] = StoredLot.of(member_id, lot)
        for movement in account.movements:
            if movement.lot.id is None or movement.lot.id not in self.lots:
                raise ConstraintViolation(f"a movement on unsaved lot {movement.lot.reference}")
            self.movements.append(
                StoredMovement(
                    member_id=member_id,
                    lot_id=movement.lot.id,
                    entry_id=entry_ids[id(movement.entry)],
                    posting_key=movement.entry.posting_key,
                    points=movement.points,
                )
            )
        self.accounts[member_id] = PointsAccount(
            member_id=member_id,
            available=account.available,
            pending=account.pending,
            debt=account.debt,
        )
        self._reconcile(member_id)

    def _reconcile(self, member_id: UUID) -> None:
        """What ``loyalty ledger verify`` checks, after every save."""
        lots = self.lots_of(member_id)
        moved: dict[int, int] = {}
        for m in self.movements:
            if m.member_id == member_id:
                moved[m.lot_id] = moved.get(m.lot_id, 0) + m.points
        for lot in lots:
            assert lot.id is not None
            if lot.remaining != lot.points + moved.get(lot.id, 0):
                raise ConstraintViolation(f"lot {lot.id} does not add up to its movements")
        balances = self.accounts[member_id]
        available = sum(lot.remaining for lot in lots if not lot.pending)
        pending = sum(lot.remaining for lot in lots if lot.pending)
        posted = sum(e.points for e in self.ledger if e.member_id == member_id)
        if (balances.available, balances.pending) != (available, pending):
            raise ConstraintViolation(
                f"balances {balances.available}/{balances.pending} but lots hold "
                f"{available}/{pending}"
            )
        if balances.available - balances.debt != posted:
            raise ConstraintViolation(
                f"available - debt = {balances.available - balances.debt}, entries sum to {posted}"
            )

    async def consumed_by(self, member_id: UUID, posting_key: str) -> list[Consumption]:
        entry_ids = {
            e.id for e in self.ledger if e.member_id == member_id and e.posting_key == posting_key
        }
        return [
            Consumption(expires_at=self.lots[m.lot_id].lot.expires_at, points=-m.points)
            for m in self.movements
            if m.member_id == member_id and m.entry_id in entry_ids and m.points < 0
        ]

    async def entries(
        self, member_id: UUID, *, before_id: int | None, limit: int
    ) -> Sequence[LedgerEntry]:
        mine = [
            e
            for e in self.ledger
            if e.member_id == member_id and (before_id is None or (e.id or 0) < before_id)
        ]
        return sorted(mine, key=lambda e: e.id or 0, reverse=True)[:limit]


def _check_lot(lot: Lot) -> None:
    if not 0 <= lot.remaining <= lot.points:
        raise ConstraintViolation(f"lot {lot.reference}: remaining {lot.remaining} of {lot.points}")
    if not lot.pending and lot.release_at is not None:
        raise ConstraintViolation(f"lot {lot.reference} is not pending but has a release time")


class FakeSaleRepository:
    def __init__(self) -> None:
        self.sales: dict[UUID, Sale] = {}
        self.refunds: dict[tuple[UUID, str], RecordedRefund] = {}
        self._db: _Link | None = None  # set by FakeDatabase: a buyer is read across fakes

    def link(self, db: FakeDatabase) -> None:
        self._db = _Link(db)

    async def buyer_for_update(
        self, member_id: UUID, since: datetime, *, spending: bool
    ) -> Buyer | None:
        # Every open lot, spending or not: what the port allows at most.
        assert self._db is not None, "buyer_for_update needs a FakeDatabase"
        db: FakeDatabase = self._db.target
        member = await db.members.get(member_id)
        if member is None:
            return None
        return Buyer(
            member=member,
            account=await db.points.get_for_update(member_id),
            standing=await db.members.standing(member_id),
            qualifying_value=await self.qualifying_value(member_id, since),
        )

    async def add(self, sale: Sale) -> bool:
        if any(
            (s.store_id, s.receipt_id) == (sale.store_id, sale.receipt_id)
            for s in self.sales.values()
        ):
            return False
        _check_sale(sale)
        self.sales[sale.id] = copy.deepcopy(sale)
        return True

    async def get(self, sale_id: UUID) -> Sale | None:
        return copy.deepcopy(self.sales.get(sale_id))

    async def get_for_update(self, sale_id: UUID) -> Sale | None:
        return copy.deepcopy(self.sales.get(sale_id))

    async def refund_recorded(self, sale_id: UUID, refund_id: str) -> bool:
        return (sale_id, refund_id) in self.refunds

    async def add_refund(self, sale: Sale, refund: RecordedRefund) -> bool:
        if (sale.id, refund.refund_id) in self.refunds:
            return False
        _check_sale(sale)
        self.refunds[(sale.id, refund.refund_id)] = refund
        self.sales[sale.id] = copy.deepcopy(sale)
        return True

    async def qualifying_value(self, member_id: UUID, since: datetime) -> int:
        return sum(
            s.payable - s.refunded_amount
            for s in self.sales.values()
            if s.member_id == member_id and s.occurred_at >= since
        )

    async def oldest_qualifying_purchase(self, member_id: UUID, since: datetime) -> datetime | None:
        return min(
            (
                s.occurred_at
                for s in self.sales.values()
                if s.member_id == member_id
                and s.occurred_at >= since
                and s.payable > s.refunded_amount
            ),
            default=None,
        )

    async def recent_for_member(self, member_id: UUID, limit: int) -> list[Sale]:
        mine = [s for s in self.sales.values() if s.member_id == member_id]
        newest = sorted(mine, key=lambda s: s.occurred_at, reverse=True)[:limit]
        return [replace(copy.deepcopy(s), lines=()) for s in newest]  # lines not loaded

    async def any_recorded(self) -> bool:
        return bool(self.sales)

    async def of_member_by_receipt(self, member_id: UUID, receipt_id: str) -> Sale | None:
        mine = [
            s
            for s in self.sales.values()
            if s.member_id == member_id and s.receipt_id == receipt_id
        ]
        mine.sort(key=lambda s: (s.channel == ONLINE, s.occurred_at), reverse=True)
        return copy.deepcopy(mine[0]) if mine else None


def _check_sale(sale: Sale) -> None:
    """The sales table's CHECK constraints."""
    p = sale.pricing
    checks = {
        "sales_channel": sale.channel in (IN_STORE, ONLINE),
        "sales_amounts_nonneg": min(
            p.subtotal, p.discount_total, p.points_redeemed, p.points_value, p.points_earned
        )
        >= 0,
        "sales_payable": p.payable >= 0,
        "sales_refunded": 0 <= sale.refunded_amount <= p.payable,
        "sales_points_reversed": 0 <= sale.points_reversed <= p.points_earned,
        "sales_points_restored": 0 <= sale.points_restored <= p.points_redeemed,
        "sales_points_need_member": sale.member_id is not None or p.points_earned == 0,
    }
    broken = [name for name, ok in checks.items() if not ok]
    if broken:
        raise ConstraintViolation(f"sale {sale.receipt_id!r} breaks {', '.join(broken)}")


class FakeStoreRepository:
    def __init__(self) -> None:
        self.stores: dict[UUID, Store] = {}
        self.terminals: dict[UUID, Terminal] = {}

    async def add_store(self, store: Store) -> bool:
        if any(s.code == store.code for s in self.stores.values()):
            return False
        self.stores[store.id] = store
        return True

    async def get_store(self, store_id: UUID) -> Store | None:
        return self.stores.get(store_id)

    async def get_store_by_code(self, code: str) -> Store | None:
        return next((s for s in self.stores.values() if s.code == code), None)

    async def add_terminal(self, terminal: Terminal) -> bool:
        if any(
            (t.store_id, t.code) == (terminal.store_id, terminal.code)
            for t in self.terminals.values()
        ):
            return False
        self.terminals[terminal.id] = terminal
        return True

    async def get_terminal(self, terminal_id: UUID) -> Terminal | None:
        return self.terminals.get(terminal_id)


class FakeProgramRepository:
    def __init__(self, settings: ProgramSettings = DEFAULT_PROGRAM) -> None:
        self.settings = settings

    async def get(self) -> ProgramSettings:
        return self.settings

    async def get_for_update(self) -> ProgramSettings:
        return self.settings

    async def save(self, settings: ProgramSettings) -> None:
        self.settings = settings


class _Link:
    """A reference to another fake that the database's snapshots leave alone."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def __deepcopy__(self, memo: dict[int, Any]) -> _Link:
        return self


class FakeTierRepository:
    def __init__(self, ladder: TierLadder | None = None) -> None:
        self.current = ladder or TierLadder.of([BASE_TIER])
        self.policies: list[TierPolicy] = [TierPolicy(365, 30, self.current)]
        self._db: _Link | None = None  # set by FakeDatabase: adopt_policy moves members

    def link(self, db: FakeDatabase) -> None:
        self._db = _Link(db)

    async def ladder(self) -> TierLadder:
        return self.current

    async def replace(self, ladder: TierLadder) -> None:
        self.current = ladder

    async def policy(self) -> TierPolicy:
        latest = self.policies[-1]
        return TierPolicy(latest.window_days, latest.grace_days, self.current, latest.version)

    async def save_policy(self, policy: TierPolicy, actor: str, at: datetime) -> None:
        if any(p.version == policy.version for p in self.policies):
            raise ValueError("duplicate policy version")  # the primary key in PostgreSQL
        self.policies.append(policy)
        self.current = policy.ladder

    async def adopt_policy(self, policy: TierPolicy, actor: str, at: datetime) -> int:
        if any(p.version == policy.version for p in self.policies):
            raise TierPolicyChanged()
        assert self._db is not None, "adopt_policy needs a FakeDatabase"
        db: FakeDatabase = self._db.target
        moved = 0
        for member in list(db.members.members.values()):
            value = await db.sales.qualifying_value(member.id, policy.window_start(at))
            qualified = policy.qualifying_tier(value)
            current = policy.ladder.get(member.tier_code)
            if qualified.code == member.tier_code:
                continue
            if current is not None and qualified.rank <= current.rank:
                continue
            standing = await db.members.standing(member.id)
            decision = Decision(
                MemberTier(qualified.code, None, standing.manual_until),
                TierChange(member.tier_code, qualified.code, TierChangeReason.POLICY_CHANGE),
            )
            await db.members.change_tier(member.id, decision, TierEvent(at, policy.version, actor))
            assert decision.change is not None
            await db.outbox.add(tier_changed(member.id, decision.change, at))
            moved += 1
        self.policies.append(policy)
        self.current = policy.ladder
        return moved


class FakeAuditLog:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    async def record(self, record: AuditRecord) -> None:
        self.records.append(record)


@dataclass(slots=True)
class _KeyRow:
    request_hash: str
    created_at: datetime
    response: StoredResponse | None = None


class FakeIdempotencyStore:
    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], _KeyRow] = {}

    async def claim(
        self, caller: str, key: str, request_hash: str, now: datetime
    ) -> IdempotencyClaim:
        row = self.keys.get((caller, key))
        if row is None:
            self.keys[(caller, key)] = _KeyRow(request_hash, now)
            return IdempotencyClaim(request_hash=request_hash)
        if row.response is None:
            # With a database this would wait for the concurrent holder; here nobody else runs.
            raise RuntimeError(f"key {key!r} is claimed but unanswered in this transaction")
        return IdempotencyClaim(request_hash=row.request_hash, replay=row.response)

    async def remember(self, caller: str, key: str, response: StoredResponse) -> None:
        self.keys[(caller, key)].response = response

    async def purge_older_than(self, cutoff: datetime) -> int:
        old = [k for k, row in self.keys.items() if row.created_at < cutoff]
        for k in old:
            del self.keys[k]
        return len(old)


# Webhooks, the web shop, Stripe payments, feedback -------------------------------------------


class FakeWebhookEventLog:
    def __init__(self) -> None:
        self.events: dict[tuple[str, str], tuple[str, str]] = {}  # -> (type, outcome)

    async def claim(self, source: str, event_id: str, event_type: str, now: datetime) -> bool:
        if (source, event_id) in self.events:
            return False
        self.events[(source, event_id)] = (event_type, "claimed")
        return True

    async def record_outcome(self, source: str, event_id: str, outcome: str) -> None:
        event_type, _ = self.events[(source, event_id)]
        self.events[(source, event_id)] = (event_type, outcome)


class FakeShopRepository:
    def __init__(self) -> None:
        self.customers: dict[str, UUID] = {}
        self.reviews: dict[str, ShopReview] = {}
        self._db: _Link | None = None  # sale_for_receipt reads the sales

    def link(self, db: FakeDatabase) -> None:
        self._db = _Link(db)

    async def member_for_customer(self, customer_id: str) -> UUID | None:
        return self.customers.get(customer_id)

    async def link_customer(self, customer_id: str, member_id: UUID, now: datetime) -> UUID:
        return self.customers.setdefault(customer_id, member_id)

    async def customers_of(self, member_id: UUID) -> list[str]:
        return [c for c, m in self.customers.items() if m == member_id]

    async def sale_for_receipt(self, store_id: UUID, receipt_id: str) -> UUID | None:
        assert self._db is not None, "sale_for_receipt needs a FakeDatabase"
        sales: FakeSaleRepository = self._db.target.sales
        return next(
            (
                s.id
                for s in sales.sales.values()
                if (s.store_id, s.receipt_id) == (store_id, receipt_id)
            ),
            None,
        )

    async def add_review(self, review: ShopReview) -> bool:
        if review.review_id in self.reviews:
            return False
        self.reviews[review.review_id] = review
        return True


class FakePaymentRepository:
    def __init__(self) -> None:
        self.payments: dict[str, StripePayment] = {}

    async def add(self, payment: StripePayment) -> bool:
        if payment.payment_intent_id in self.payments:
            return False
        if not 0 <= payment.amount_refunded <= payment.amount_received:
            raise ConstraintViolation("stripe_payments_amounts")
        self.payments[payment.payment_intent_id] = copy.deepcopy(payment)
        return True

    async def get_for_update(self, payment_intent_id: str) -> StripePayment | None:
        return copy.deepcopy(self.payments.get(payment_intent_id))

    async def save(self, payment: StripePayment) -> None:
        if not 0 <= payment.amount_refunded <= payment.amount_received:
            raise ConstraintViolation("stripe_payments_amounts")
        self.payments[payment.payment_intent_id] = copy.deepcopy(payment)


class FakeFeedbackRepository:
    def __init__(self) -> None:
        self.records: dict[UUID, Feedback] = {}

    async def add(self, feedback: Feedback) -> None:
        if feedback.id in self.records:
            raise ConstraintViolation(f"feedback {feedback.id} exists")
        self.records[feedback.id] = copy.deepcopy(feedback)

    async def get_for_update(self, feedback_id: UUID) -> Feedback | None:
        return copy.deepcopy(self.records.get(feedback_id))

    async def save(self, feedback: Feedback) -> None:
        self.records[feedback.id] = copy.deepcopy(feedback)

    async def page(
        self,
        *,
        status: FeedbackStatus | None,
        kind: FeedbackKind | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> FeedbackPage:
        newest = sorted(
            (
                f
                for f in self.records.values()
                if (status is None or f.status is status)
                and (kind is None or f.kind is kind)
                and (after is None or (f.created_at, f.id) < after)
            ),
            key=lambda f: (f.created_at, f.id),
            reverse=True,
        )
        items = [copy.deepcopy(f) for f in newest[:limit]]
        more = len(newest) > limit
        return FeedbackPage(items, (items[-1].created_at, items[-1].id) if more else None)

    async def of_member(
        self, member_id: UUID, limit: int, *, after: tuple[datetime, UUID] | None = None
    ) -> list[Feedback]:
        mine = [
            f
            for f in self.records.values()
            if f.member_id == member_id and (after is None or (f.created_at, f.id) < after)
        ]
        newest = sorted(mine, key=lambda f: (f.created_at, f.id), reverse=True)
        return copy.deepcopy(newest[:limit])


# Member login and the outbox -----------------------------------------------------------------


class FakeLoginChallengeRepository:
    def __init__(self) -> None:
        self.challenges: dict[str, LoginChallenge] = {}
        self.consumed: set[str] = set()

    async def replace(self, challenge: LoginChallenge) -> None:
        self.challenges[challenge.phone] = challenge
        self.consumed.discard(challenge.phone)

    async def count_attempt(self, phone: str, now: datetime) -> LoginChallenge | None:
        challenge = self.challenges.get(phone)
        if challenge is None or phone in self.consumed or not challenge.is_live(now):
            return None
        counted = replace(challenge, attempts=challenge.attempts + 1)
        self.challenges[phone] = counted
        return counted

    async def consume(self, phone: str, at: datetime) -> None:
        self.consumed.add(phone)


class FakeRefreshTokenRepository:
    def __init__(self) -> None:
        self.tokens: dict[UUID, RefreshToken] = {}

    async def add(self, token: RefreshToken) -> None:
        if any(t.token_hash == token.token_hash for t in self.tokens.values()):
            raise ConstraintViolation("refresh token hash is taken")
        self.tokens[token.id] = token

    async def member_of(self, token_hash: str) -> UUID | None:
        token = await self.get_for_update(token_hash)
        return token.member_id if token else None

    async def get_for_update(self, token_hash: str) -> RefreshToken | None:
        return next((t for t in self.tokens.values() if t.token_hash == token_hash), None)

    async def mark_used(self, token_id: UUID, at: datetime) -> None:
        self.tokens[token_id] = replace(self.tokens[token_id], used_at=at)

    async def revoke_family(self, family_id: UUID, at: datetime) -> int:
        revoked = 0
        for token_id, token in list(self.tokens.items()):
            if token.family_id == family_id and token.revoked_at is None:
                self.tokens[token_id] = replace(token, revoked_at=at)
                revoked += 1
        return revoked

    async def lock_family_of(self, token_hash: str) -> UUID | None:
        token = await self.get_for_update(token_hash)
        return token.family_id if token else None


class FakeOutbox:
    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    async def add(self, notification: Notification) -> None:
        self.notifications.append(notification)

    async def add_all(self, notifications: Sequence[Notification]) -> None:
        self.notifications.extend(notifications)

    def of_kind(self, kind: NotificationKind) -> list[Notification]:
        return [n for n in self.notifications if n.kind is kind]


class FakeRateLimiter:
    """Counts outside any unit of work, as the PostgreSQL limiter's autocommit does."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}

    async def hit(
        self, bucket: str, rule: RateLimit, now: datetime, *, weight: int = 1
    ) -> timedelta | None:
        start = login_window_start(rule, now)
        key = f"{bucket}@{start.isoformat()}"
        self.hits[key] = self.hits.get(key, 0) + weight
        return None if self.hits[key] <= rule.limit else start + rule.window - now


class FakeSecretBox:
    """Seals reversibly but visibly: the sealed form never contains the secret as is."""

    def seal(self, secret: str) -> str:
        return "sealed:" + secret[::-1] + ":x"

    def open(self, sealed: str) -> str:
        if not (sealed.startswith("sealed:") and sealed.endswith(":x")):
            raise ValueError("not sealed by this box")
        return sealed[len("sealed:") : -len(":x")][::-1]


class RecordingSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failing = False

    async def send(self, phone: str, text: str) -> None:
        if self.failing:
            raise DeliveryFailed("the SMS gateway is down")
        self.sent.append((phone, text))

    def last_code(self, phone: str) -> str:
        texts = [text for to, text in self.sent if to == phone]
        match = re.search(r"\b(\d{6})\b", texts[-1])
        assert match is not None
        return match.group(1)


class RecordingMemberNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[UUID, NotificationKind, dict[str, object]]] = []
        self.failing = False

    async def notify(
        self, member_id: UUID, kind: NotificationKind, payload: Mapping[str, object]
    ) -> None:
        if self.failing:
            raise DeliveryFailed("the push service is down")
        self.sent.append((member_id, kind, dict(payload)))


# The database and the unit of work ---------------------------------------------------------


class FakeDatabase:
    """Every repository's state; units of work opened on it share it like one database.

    There is no isolation: a unit of work that rolls back restores the state it started from,
    so units of work on one database must not interleave.
    """

    def __init__(self) -> None:
        self.members = FakeMemberRepository()
        self.points = FakePointsRepository()
        self.sales = FakeSaleRepository()
        self.sales.link(self)
        self.stores = FakeStoreRepository()
        self.program = FakeProgramRepository()
        self.tiers = FakeTierRepository()
        self.tiers.link(self)
        self.audit = FakeAuditLog()
        self.idempotency = FakeIdempotencyStore()
        self.coupon_templates = FakeCouponTemplateRepository()
        self.coupons = FakeCouponRepository()
        self.rewards = FakeRewardSettingsRepository()
        self.draws = FakeDrawRepository()
        self.webhook_events = FakeWebhookEventLog()
        self.shop = FakeShopRepository()
        self.shop.link(self)
        self.payments = FakePaymentRepository()
        self.feedback = FakeFeedbackRepository()
        self.login_challenges = FakeLoginChallengeRepository()
        self.refresh_tokens = FakeRefreshTokenRepository()
        self.outbox = FakeOutbox()
        self.follow_ups = FakeFollowUpRepository()

    def _repositories(self) -> dict[str, object]:
        return dict(vars(self))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {name: copy.deepcopy(vars(repo)) for name, repo in self._repositories().items()}

    def restore(self, snapshot: dict[str, dict[str, Any]]) -> None:
        for name, repo in self._repositories().items():
            state = vars(repo)
            state.clear()
            state.update(copy.deepcopy(snapshot[name]))


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase | None = None) -> None:
        self.db = db if db is not None else FakeDatabase()
        self.members = self.db.members
        self.points = self.db.points
        self.sales = self.db.sales
        self.stores = self.db.stores
        self.program = self.db.program
        self.tiers = self.db.tiers
        self.audit = self.db.audit
        self.idempotency = self.db.idempotency
        self.coupon_templates = self.db.coupon_templates
        self.coupons = self.db.coupons
        self.rewards = self.db.rewards
        self.draws = self.db.draws
        self.webhook_events = self.db.webhook_events
        self.shop = self.db.shop
        self.payments = self.db.payments
        self.feedback = self.db.feedback
        self.login_challenges = self.db.login_challenges
        self.refresh_tokens = self.db.refresh_tokens
        self.outbox = self.db.outbox
        self.segments = FakeSegmentResolver(self.db)
        self.follow_ups = self.db.follow_ups
        # Stateless: it works on the other fakes, so the database's snapshots cover it.
        self.member_privacy = FakeMemberPrivacyRepository(self.db)
        self.committed = False
        self.rolled_back = False
        self._start: dict[str, dict[str, Any]] | None = None

    async def __aenter__(self) -> Self:
        if self._start is not None:
            raise RuntimeError("this unit of work is already active")
        self._start = self.db.snapshot()
        self.committed = False
        self.rolled_back = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._start is None:
            raise RuntimeError("the unit of work is not active")
        if not self.committed:
            self.db.restore(self._start)
            self.rolled_back = True
        self._start = None

    async def commit(self) -> None:
        if self._start is None:
            raise RuntimeError("the unit of work is not active: use `async with uow:`")
        self.committed = True

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        saved = self.db.snapshot()
        try:
            yield
        except BaseException:
            self.db.restore(saved)
            raise


class FakeFollowUpRepository:
    def __init__(self) -> None:
        self.listings: dict[int, FollowUpListing] = {}

    def schedule(
        self, follow_up: FollowUp, receipt_id: str, purchased_at: datetime, amount: int
    ) -> None:
        if any(item.follow_up.sale_id == follow_up.sale_id for item in self.listings.values()):
            raise ConstraintViolation(f"sale {follow_up.sale_id} already has a follow-up")
        self.listings[follow_up.id] = FollowUpListing(
            copy.deepcopy(follow_up), receipt_id, purchased_at, amount
        )

    async def get_for_update(self, follow_up_id: int) -> FollowUp | None:
        listing = self.listings.get(follow_up_id)
        return copy.deepcopy(listing.follow_up) if listing else None

    async def save(self, follow_up: FollowUp) -> None:
        self.listings[follow_up.id] = replace(
            self.listings[follow_up.id], follow_up=copy.deepcopy(follow_up)
        )

    async def listing(self, follow_up_id: int) -> FollowUpListing | None:
        return copy.deepcopy(self.listings.get(follow_up_id))

    async def page(
        self,
        *,
        status: FollowUpStatus | None,
        due_by: date | None,
        after_id: int | None,
        limit: int,
    ) -> list[FollowUpListing]:
        chosen = [
            item
            for key, item in sorted(self.listings.items())
            if key > (after_id or 0)
            and (status is None or item.follow_up.status is status)
            and (due_by is None or item.follow_up.due_on <= due_by)
        ]
        return copy.deepcopy(chosen[:limit])


class FakeSegmentResolver:
    """Segments by the domain's rules over the fake's sales. The fake keeps no refund dates:
    a sale's refunds count on the sale's own date."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def _ids(self, spec: SegmentSpec, today: date, zone: str, crm: CrmSettings) -> list[UUID]:
        members = self._db.members.members
        if isinstance(spec, TierSegmentSpec):
            if self._db.tiers.current.get(spec.tier_code) is None:
                raise InvalidInput(f"no tier {spec.tier_code!r}", field="tier")
            return sorted(m.id for m in members.values() if m.tier_code == spec.tier_code)
        day = spec.as_of or today
        if isinstance(spec, LifecycleSegmentSpec):
            return sorted(
                m.id for m in members.values() if self._stage(m.id, day, zone, crm) is spec.stage
            )
        scores = self._scores(day, spec.window_days, zone)
        return sorted(k for k, v in scores.items() if v.segment is spec.segment)

    def _days(self, member_id: UUID, zone: str) -> list[tuple[date, Sale]]:
        tz = ZoneInfo(zone)
        return [
            (s.occurred_at.astimezone(tz).date(), s)
            for s in self._db.sales.sales.values()
            if s.member_id == member_id
        ]

    def _stage(self, member_id: UUID, day: date, zone: str, crm: CrmSettings) -> LifecycleStage:
        days = [d for d, _ in self._days(member_id, zone) if d <= day]
        return crm.stage(min(days, default=None), max(days, default=None), day)

    def _scores(self, as_of: date, window_days: int, zone: str) -> dict[UUID, RfmScore]:
        first = as_of - timedelta(days=window_days - 1)
        values = {}
        for member_id in self._db.members.members:
            inside = [(d, s) for d, s in self._days(member_id, zone) if first <= d <= as_of]
            if inside:
                values[member_id] = RfmValues(
                    recency_days=(as_of - max(d for d, _ in inside)).days,
                    frequency=len(inside),
                    monetary=sum(s.payable - s.refunded_amount for _, s in inside),
                )
        return score_members(values)

    async def count(self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings) -> int:
        return len(self._ids(spec, today, zone, crm))

    async def member_ids(
        self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings
    ) -> list[UUID]:
        return self._ids(spec, today, zone, crm)

    async def profile(
        self, member_id: UUID, *, today: date, zone: str, crm: CrmSettings
    ) -> MemberCrmProfile:
        # The fake scores on the spot, as if the scoring job had just run today.
        score = self._scores(today, DEFAULT_WINDOW_DAYS, zone).get(member_id)
        return MemberCrmProfile(
            as_of=today,
            stage=self._stage(member_id, today, zone, crm),
            rfm=score,
            rfm_as_of=today if score else None,
            window_days=DEFAULT_WINDOW_DAYS if score else None,
        )


class FakeUnitOfWorkFactory:
    """A UnitOfWorkFactory over one shared FakeDatabase; remembers the units it made."""

    def __init__(self, db: FakeDatabase | None = None) -> None:
        self.db = db if db is not None else FakeDatabase()
        self.made: list[FakeUnitOfWork] = []

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.db)
        self.made.append(uow)
        return uow


class FakeWorld:
    """Everything a use case may ask for, wired together over one FakeDatabase."""

    def __init__(self) -> None:
        self.db = FakeDatabase()
        self.uow_factory = FakeUnitOfWorkFactory(self.db)
        self.clock = FixedClock()
        self.ids = SequentialIds()
        self.random = SequenceRandom()
        self.contacts = FakeContacts()

    def uow(self) -> FakeUnitOfWork:
        return self.uow_factory()


def _conforms(db: FakeDatabase) -> tuple[object, ...]:
    """Never called: lets mypy check that the fakes implement the ports' Protocols."""
    uow: UnitOfWork = FakeUnitOfWork(db)
    factory: UnitOfWorkFactory = FakeUnitOfWorkFactory(db)
    members: MemberRepository = db.members
    points: PointsRepository = db.points
    sales: SaleRepository = db.sales
    stores: StoreRepository = db.stores
    program: ProgramRepository = db.program
    tiers: TierRepository = db.tiers
    audit: AuditLog = db.audit
    idempotency: IdempotencyStore = db.idempotency
    login_challenges: LoginChallengeRepository = db.login_challenges
    refresh_tokens: RefreshTokenRepository = db.refresh_tokens
    outbox: Outbox = db.outbox
    limiter: RateLimiter = FakeRateLimiter()
    sms: SmsSender = RecordingSms()
    notifier: MemberNotifier = RecordingMemberNotifier()
    box: SecretBox = FakeSecretBox()
    segments: SegmentResolver = FakeSegmentResolver(db)
    follow_ups: FollowUpRepository = db.follow_ups
    clock: Clock = FixedClock()
    random: RandomSource = SequenceRandom()
    ids: IdGenerator = SequentialIds()
    contacts: ContactNormaliser = FakeContacts()
    return (
        uow,
        factory,
        members,
        points,
        sales,
        stores,
        program,
        tiers,
        audit,
        idempotency,
        segments,
        follow_ups,
        clock,
        random,
        ids,
        contacts,
        login_challenges,
        refresh_tokens,
        outbox,
        limiter,
        sms,
        notifier,
        box,
    )
