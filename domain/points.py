"""The points ledger: append-only entries and the balances they explain.

A balance never changes without an entry that says why. Every entry carries a posting key that
is unique per member, so a posting applied twice is a database error, never double points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import InvalidInput


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


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    member_id: UUID
    type: EntryType
    points: int  # signed: positive adds to the member, negative takes away
    reference: Reference
    posting_key: str
    created_at: datetime
    expires_at: datetime | None = None
    id: int | None = None  # assigned by the ledger store


@dataclass(slots=True)
class PointsAccount:
    """A member's balances. ``debt`` is what refunds clawed back after the points were spent.

    Invariants (restated as CHECK constraints in the database): available, pending and debt
    are never negative, and there is never debt and available points at the same time.
    """

    member_id: UUID
    available: int = 0
    pending: int = 0
    debt: int = 0
    new_entries: list[LedgerEntry] = field(default_factory=list)

    @property
    def balance(self) -> int:
        """What the member sees as available: negative while a debt is outstanding."""
        return self.available - self.debt

    def earn(self, points: int, *, reference: Reference, now: datetime) -> LedgerEntry | None:
        """Credits earned points; an outstanding debt is paid off first."""
        if points < 0:
            raise InvalidInput("earned points cannot be negative")
        if points == 0:
            return None
        paid_off = min(points, self.debt)
        self.debt -= paid_off
        self.available += points - paid_off
        return self._post(EntryType.EARN, points, reference, now)

    def reverse(self, points: int, *, reference: Reference, now: datetime) -> LedgerEntry | None:
        """Claws back earned points; what was already spent becomes debt."""
        if points < 0:
            raise InvalidInput("reversed points cannot be negative")
        if points == 0:
            return None
        taken = min(points, self.available)
        self.available -= taken
        self.debt += points - taken
        return self._post(EntryType.REVERSE, -points, reference, now)

    def _post(
        self, entry_type: EntryType, points: int, reference: Reference, now: datetime
    ) -> LedgerEntry:
        entry = LedgerEntry(
            member_id=self.member_id,
            type=entry_type,
            points=points,
            reference=reference,
            posting_key=f"{reference}:{entry_type.value}",
            created_at=now,
        )
        self.new_entries.append(entry)
        return entry
