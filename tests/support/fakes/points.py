"""The points repository: balances, lots, entries and movements, apart as the tables keep them."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from domain.points import Consumption, LedgerEntry, Lot, PointsAccount
from tests.support.fakes.common import ConstraintViolation, Linked, require


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


class FakePointsRepository(Linked):
    """Balances, lots, entries and movements, kept apart as the tables keep them.

    ``save`` refuses what the tables refuse (balances and lots never negative, no debt beside
    available points, a lot's remaining between 0 and its points, unique posting keys, no zero
    movements, movements only of saved lots and entries), as the contract tests prove
    (tests/integration/contracts/test_points_repository.py). It does not reconcile balances,
    lots and entries: PostgreSQL does not either; ``loyalty ledger verify`` does, and the
    domain's property tests hold the invariant (tests/unit/test_ledger_properties.py).
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
        require(member_id in self.db.members.members, "points_accounts_member_id_fkey")
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
