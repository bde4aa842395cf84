"""The points ledger: append-only entries, the lots they create, and the balances they explain.

A balance never changes without an entry that says why, with one deliberate exception:
points earned online are *pending* until the return window closes. They are held in a pending
lot outside the ledger, and enter it (as an ``earn`` entry) when they are released; a refund
before that simply cancels them.

Every credit creates a lot with its own expiry; spending takes from the lots that expire
soonest. Every change to a lot is a movement tied to the entry that caused it, so that the
lots can always be reconciled with the ledger. Every entry carries a posting key unique per
member: a posting applied twice is a database error, never double points.

Invariants (also CHECK constraints in the database): available, pending and debt are never
negative, there is never debt and available points at once, and
``available - debt == sum(entry.points)`` and ``available == sum(open lot remaining)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import InsufficientPoints, InvalidInput

MAX_ADJUSTMENT = 10**9
MAX_REASON_LENGTH = 500


class EntryType(StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    REVERSE = "reverse"
    RESTORE = "restore"
    ADJUST = "adjust"


@dataclass(frozen=True, slots=True)
class Reference:
    """What a posting is about: a sale, an order, a refund, an adjustment, an expiry run."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Reference:
        kind, _, ref_id = text.partition(":")
        return cls(kind, ref_id)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    member_id: UUID
    type: EntryType
    points: int  # signed: positive adds to the member, negative takes away
    reference: Reference
    posting_key: str
    created_at: datetime
    expires_at: datetime | None = None
    actor: str | None = None  # who made an adjustment
    reason: str | None = None
    id: int | None = None  # assigned by the ledger store


@dataclass(eq=False, slots=True)
class Lot:
    """Points credited together, expiring together. Identity is the object until stored."""

    reference: Reference
    earned_at: datetime
    expires_at: datetime | None
    points: int  # credited (for a pending lot: what will be credited on release)
    remaining: int
    pending: bool = False
    release_at: datetime | None = None
    id: int | None = None
    frozen: bool = False  # its payment is disputed: counted in the balance, not spendable

    def expires_before(self) -> tuple[bool, datetime, datetime]:
        """Sort key: the soonest expiry first, lots that never expire last, older first."""
        never = self.expires_at is None
        return (never, self.expires_at or self.earned_at, self.earned_at)


@dataclass(frozen=True, slots=True)
class Movement:
    """``points`` added to (positive) or taken from (negative) ``lot`` by ``entry``."""

    entry: LedgerEntry
    lot: Lot
    points: int


@dataclass(frozen=True, slots=True)
class Consumption:
    """What a redemption took from a lot, kept so a refund can restore it with that expiry."""

    expires_at: datetime | None
    points: int


@dataclass(slots=True)
class PointsAccount:
    member_id: UUID
    available: int = 0
    pending: int = 0
    debt: int = 0
    lots: list[Lot] = field(default_factory=list)  # open lots: remaining > 0 or pending
    new_entries: list[LedgerEntry] = field(default_factory=list)
    new_lots: list[Lot] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    changed_lots: list[Lot] = field(default_factory=list)
    released_lots: list[Lot] = field(default_factory=list)

    @property
    def balance(self) -> int:
        """What the member sees as available: negative while a debt is outstanding."""
        return self.available - self.debt

    # Credits -----------------------------------------------------------------------------

    def earn(
        self,
        points: int,
        *,
        reference: Reference,
        now: datetime,
        expires_at: datetime | None = None,
        pending_until: datetime | None = None,
        reason: str | None = None,
    ) -> LedgerEntry | None:
        """Credits earned points in a new lot; pending ones wait outside the ledger.
        ``reason`` names what earned them (the earning rules and their versions)."""
        _require_non_negative(points, "earned points")
        if points == 0:
            return None
        lot = Lot(reference, now, expires_at, points, points)
        if pending_until is not None:
            lot.pending = True
            lot.release_at = pending_until
            self.pending += points
            self._add_lot(lot)
            return None
        self._add_lot(lot)
        return self._credit(EntryType.EARN, lot, reference, now, reason=reason)

    def release(self, lot: Lot, *, now: datetime) -> LedgerEntry | None:
        """Pending points become available: now they enter the ledger as earned."""
        if not lot.pending:
            raise InvalidInput("only a pending lot can be released")
        if lot.frozen:
            raise InvalidInput("a frozen lot is not released until its dispute is closed")
        lot.pending = False
        lot.release_at = None
        self.pending -= lot.remaining
        lot.points = lot.remaining
        self._touch(lot)
        self.released_lots.append(lot)
        if lot.remaining == 0:
            return None
        return self._credit(EntryType.EARN, lot, lot.reference, now)

    def restore(
        self,
        points: int,
        *,
        reference: Reference,
        now: datetime,
        consumed: Sequence[Consumption],
        already_restored: int = 0,
    ) -> LedgerEntry | None:
        """Gives back redeemed points in lots that keep the expiry they were taken from.

        The latest-expiring points are given back first: the member keeps them longest.
        ``already_restored`` points of the same redemption were given back by earlier refunds.
        """
        _require_non_negative(points, "restored points")
        if points == 0:
            return None
        if already_restored + points > sum(c.points for c in consumed):
            raise InvalidInput("cannot restore more points than the redemption took")
        skip = already_restored
        left = points
        lots: list[Lot] = []
        for taken in sorted(consumed, key=_latest_expiry_first):
            available_here = taken.points - min(skip, taken.points)
            skip -= taken.points - available_here
            share = min(left, available_here)
            if share:
                lots.append(Lot(reference, now, taken.expires_at, share, share))
                left -= share
        for lot in lots:
            self._add_lot(lot)
        entry = self._post(EntryType.RESTORE, points, reference, now, expires_at=lots[0].expires_at)
        self._pay_debt_from(lots, entry)
        return entry

    def adjust(
        self,
        points: int,
        *,
        reference: Reference,
        now: datetime,
        actor: str,
        reason: str,
        expires_at: datetime | None = None,
    ) -> LedgerEntry:
        """A correction by an admin; it can never take the balance below zero."""
        if points == 0 or abs(points) > MAX_ADJUSTMENT:
            raise InvalidInput(
                f"an adjustment is a non-zero number of points up to {MAX_ADJUSTMENT}",
                field="points",
            )
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON_LENGTH:
            raise InvalidInput(
                f"a reason of 1-{MAX_REASON_LENGTH} characters is required", field="reason"
            )
        if points > 0:
            lot = Lot(reference, now, expires_at, points, points)
            self._add_lot(lot)
            return self._credit(EntryType.ADJUST, lot, reference, now, actor=actor, reason=reason)
        self._require_available(-points, now)
        entry = self._post(EntryType.ADJUST, points, reference, now, actor=actor, reason=reason)
        self._take(-points, entry, now=now)
        return entry

    # Debits ------------------------------------------------------------------------------

    def redeem(self, points: int, *, reference: Reference, now: datetime) -> LedgerEntry | None:
        """Spends available points, soonest-expiring first; never below zero."""
        _require_non_negative(points, "redeemed points")
        if points == 0:
            return None
        self._require_available(points, now)
        entry = self._post(EntryType.REDEEM, -points, reference, now)
        self._take(points, entry, now=now)
        return entry

    def reverse(
        self,
        points: int,
        *,
        reference: Reference,
        now: datetime,
        source: Reference | None = None,
    ) -> LedgerEntry | None:
        """Claws back points earned by ``source`` (a sale or an order).

        Points still pending are simply cancelled. Otherwise they come from the source's own
        lot first, then from the soonest-expiring lots; what was already spent becomes debt.
        """
        _require_non_negative(points, "reversed points")
        if points == 0:
            return None
        for lot in self.lots:
            if points and lot.pending and source is not None and lot.reference == source:
                cancelled = min(points, lot.remaining)
                lot.remaining -= cancelled
                lot.points -= cancelled
                self.pending -= cancelled
                points -= cancelled
                self._touch(lot)
        if points == 0:
            return None
        entry = self._post(EntryType.REVERSE, -points, reference, now)
        # A refund of a disputed payment takes its own (frozen) points back first.
        own = [
            lot
            for lot in self.lots
            if source is not None
            and lot.reference == source
            and not lot.pending
            and lot.remaining > 0
        ]
        wanted = min(points, self.available)
        taken = self._take(wanted, entry, prefer=own)
        if taken < wanted:
            # Debt and available points never coexist: another disputed payment's frozen
            # points are clawed back before anything becomes debt.
            frozen = [lot for lot in self.lots if lot.frozen and not lot.pending]
            taken += self._take(wanted - taken, entry, prefer=frozen)
        self.debt += points - taken
        return entry

    def expire(self, lot: Lot, *, reference: Reference, now: datetime) -> LedgerEntry | None:
        """What is left of a lot past its expiry leaves the balance."""
        if lot.pending or lot.remaining == 0:
            return None
        if lot.expires_at is None or lot.expires_at > now:
            raise InvalidInput("this lot has not expired")
        entry = self._post(
            EntryType.EXPIRE,
            -lot.remaining,
            reference,
            now,
            posting_key=f"{reference}:lot:{_lot_key(lot, self.lots)}",
            expires_at=lot.expires_at,
        )
        self.available -= lot.remaining
        self._move(entry, lot, -lot.remaining)
        return entry

    # Disputes ----------------------------------------------------------------------------

    def freeze(self, source: Reference) -> int:
        """The points ``source`` (a disputed payment) earned stop being spendable.

        Nothing leaves the balance and no entry is posted: the points are still the member's
        until the dispute is decided. A pending lot stays pending and is not released; what
        is left of a released lot cannot be redeemed. Points of that lot already spent stay
        spent. Returns how many points were frozen.
        """
        frozen = 0
        for lot in self.lots:
            if lot.reference == source and not lot.frozen and lot.remaining > 0:
                lot.frozen = True
                frozen += lot.remaining
                self._touch(lot)
        return frozen

    def unfreeze(self, source: Reference) -> int:
        """A dispute closed in the member's favour: the points are spendable again."""
        thawed = 0
        for lot in self.lots:
            if lot.reference == source and lot.frozen:
                lot.frozen = False
                thawed += lot.remaining
                self._touch(lot)
        return thawed

    @property
    def frozen(self) -> int:
        """Available points held back by disputes (pending frozen lots are in ``pending``)."""
        return sum(lot.remaining for lot in self.lots if lot.frozen and not lot.pending)

    # Reading -----------------------------------------------------------------------------

    def pending_lots_of(self, source: Reference) -> list[Lot]:
        return [lot for lot in self.lots if lot.pending and lot.reference == source]

    def expiring(self, now: datetime, until: datetime) -> list[Lot]:
        return sorted(
            (
                lot
                for lot in self._spendable()
                if lot.expires_at is not None and now < lot.expires_at <= until
            ),
            key=Lot.expires_before,
        )

    # Mechanics ---------------------------------------------------------------------------

    def _credit(
        self,
        entry_type: EntryType,
        lot: Lot,
        reference: Reference,
        now: datetime,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> LedgerEntry:
        entry = self._post(
            entry_type,
            lot.remaining,
            reference,
            now,
            expires_at=lot.expires_at,
            actor=actor,
            reason=reason,
        )
        self._pay_debt_from([lot], entry)
        return entry

    def _pay_debt_from(self, lots: Iterable[Lot], entry: LedgerEntry) -> None:
        """Credits first pay off a debt; only the rest becomes available."""
        for lot in lots:
            paid = min(self.debt, lot.remaining)
            if paid:
                self.debt -= paid
                self._move(entry, lot, -paid)
            self.available += lot.remaining

    def _take(
        self,
        points: int,
        entry: LedgerEntry,
        *,
        prefer: Sequence[Lot] = (),
        now: datetime | None = None,
    ) -> int:
        """Takes points from lots, preferred ones first, then soonest-expiring. Returns taken."""
        left = points
        ordered = list(prefer) + [lot for lot in self._spendable(now) if lot not in prefer]
        for lot in ordered:
            if left == 0:
                break
            share = min(left, lot.remaining)
            if share:
                self._move(entry, lot, -share)
                self.available -= share
                left -= share
        return points - left

    def _move(self, entry: LedgerEntry, lot: Lot, points: int) -> None:
        lot.remaining += points
        self.movements.append(Movement(entry, lot, points))
        self._touch(lot)

    def spendable_points(self, now: datetime) -> int:
        """Available points that have not passed their expiry (the job may not have run yet)."""
        return sum(lot.remaining for lot in self._spendable(now))

    def _spendable(self, now: datetime | None = None) -> list[Lot]:
        """Lots points can come from, soonest-expiring first; with ``now``, none overdue."""
        return sorted(
            (
                lot
                for lot in self.lots
                if not lot.pending
                and not lot.frozen
                and lot.remaining > 0
                and (now is None or lot.expires_at is None or lot.expires_at > now)
            ),
            key=Lot.expires_before,
        )

    def _require_available(self, points: int, now: datetime) -> None:
        spendable = min(self.available, self.spendable_points(now))
        if points > spendable:
            raise InsufficientPoints(f"{points} points requested, {spendable} available")

    def _add_lot(self, lot: Lot) -> None:
        self.lots.append(lot)
        self.new_lots.append(lot)

    def _touch(self, lot: Lot) -> None:
        if lot not in self.new_lots and lot not in self.changed_lots:
            self.changed_lots.append(lot)

    def _post(
        self,
        entry_type: EntryType,
        points: int,
        reference: Reference,
        now: datetime,
        *,
        posting_key: str | None = None,
        expires_at: datetime | None = None,
        actor: str | None = None,
        reason: str | None = None,
    ) -> LedgerEntry:
        entry = LedgerEntry(
            member_id=self.member_id,
            type=entry_type,
            points=points,
            reference=reference,
            posting_key=posting_key or f"{reference}:{entry_type.value}",
            created_at=now,
            expires_at=expires_at,
            actor=actor,
            reason=reason,
        )
        self.new_entries.append(entry)
        return entry


def _require_non_negative(points: int, what: str) -> None:
    if points < 0:
        raise InvalidInput(f"{what} cannot be negative")


def _latest_expiry_first(consumption: Consumption) -> tuple[bool, float]:
    if consumption.expires_at is None:
        return (False, 0.0)
    return (True, -consumption.expires_at.timestamp())


def _lot_key(lot: Lot, lots: Sequence[Lot]) -> str:
    if lot.id is not None:
        return str(lot.id)
    # Not stored yet (pure domain use): its place among the account's lots is unique.
    return f"new-{next(i for i, other in enumerate(lots) if other is lot)}"
