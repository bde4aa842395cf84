"""`loyalty ledger verify`: recomputes every member's hash chain and reconciles the balances.

Everything is read in one REPEATABLE READ, READ ONLY transaction, so the checks see one
consistent snapshot while the service keeps writing. Nothing is loaded whole: the chains are
streamed through a server-side cursor in (member_id, seq) order (the UNIQUE index that keeps
the chain from forking serves it), and the reconciliations are set-based GROUP BY queries
that return only the rows that fail. Memory stays flat for a million members.

What is checked, exactly (each failure is a ``Mismatch`` with a stable ``kind``):

Chains, per member, entries in ``seq`` order, hashes recomputed in Python by
``ledger_hash.hash_of_row`` (independently of the database trigger):
  ``seq_gap``       seq runs 1, 2, ..., n without gaps or repeats;
  ``prev_hash``     entry 1 has an empty prev_hash, entry k the stored entry_hash of entry k-1;
  ``entry_hash``    the stored entry_hash is the recomputed hash of the row's content.

Accounts, per member (a member without a points_accounts row counts as all zeros):
  ``account_missing``     entries or lots exist but the account row does not;
  ``account_negative``    available, pending and debt are all >= 0;
  ``account_debt_and_available``  never debt and available points at once;
  ``account_ledger``      available - debt == sum(points of the member's entries);
  ``account_lots``        available == sum(remaining of the member's non-pending lots);
  ``account_pending``     pending == sum(remaining of the member's pending lots).

Lots, per lot:
  ``lot_remaining``  0 <= remaining <= points and remaining == points + sum(its movements);
  ``lot_pending_moved``  a pending lot has no movements (pending points cannot be spent, and
                     debt is only paid from lots once they are released).

Entries and their movements (a movement is one entry's change to one lot):
  ``movement_member``  every movement, its entry and its lot belong to the same member;
  ``entry_movements``  per entry, with moved = sum(its movements):
      - no movement adds to a lot (lots are credited when created, never by a movement);
      - redeem, expire, and adjust with points < 0: moved == points (a debit that is not a
        refund can only take what is available, so all of it came out of lots);
      - reverse: points <= moved <= 0 (what could not be taken from lots became debt);
      - earn, restore, and adjust with points > 0: -points <= moved <= 0, and every movement
        is on a lot of the entry's own reference (a credit pays off debt from its new lots).
  ``credit_lots``  per (member, reference): the points of the credit entries (earn, restore,
      adjust > 0) equal the points of the non-pending lots with that reference, i.e. every
      credited point sits in a lot and every lot was credited by an entry. Lots opened by the
      migration for balances from before lots existed (``migration:opening-balance``) have no
      entry and are left out.

Together these tie the accounts to the lots, the lots to the movements and the movements to
the hashed entries, so a change to any one table without the matching change to the others
and to the chain shows up. (A rewrite of a whole chain from some entry on, with balances,
lots and movements to match, can only be caught against a chain head recorded elsewhere.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from adapters.persistence.ledger_hash import hash_of_row
from adapters.persistence.stored_times import install_codecs

OPENING_BALANCE = "migration:opening-balance"
DEBITS_FROM_LOTS = ("redeem", "expire")
CREDITS = ("earn", "restore")

_COUNTS = """
SELECT (SELECT count(*) FROM members) AS members,
       (SELECT count(*) FROM points_lots) AS lots
"""

_CHAINS = """
SELECT id, member_id, seq, entry_type, points, reference, posting_key, created_at, expires_at,
       actor, reason, prev_hash, entry_hash
FROM points_entries
ORDER BY member_id, seq
"""

_ACCOUNTS = """
WITH entries AS (
    SELECT member_id, sum(points) AS total FROM points_entries GROUP BY member_id
), lots AS (
    SELECT member_id,
           coalesce(sum(remaining) FILTER (WHERE NOT pending), 0) AS open,
           coalesce(sum(remaining) FILTER (WHERE pending), 0) AS pending
    FROM points_lots GROUP BY member_id
), balances AS (
    SELECT m.id AS member_id,
           a.member_id IS NOT NULL AS has_account,
           (e.member_id IS NOT NULL OR l.member_id IS NOT NULL) AS has_points,
           coalesce(a.available, 0) AS available,
           coalesce(a.pending, 0) AS pending,
           coalesce(a.debt, 0) AS debt,
           coalesce(e.total, 0) AS entries_total,
           coalesce(l.open, 0) AS lots_open,
           coalesce(l.pending, 0) AS lots_pending
    FROM members m
    LEFT JOIN points_accounts a ON a.member_id = m.id
    LEFT JOIN entries e ON e.member_id = m.id
    LEFT JOIN lots l ON l.member_id = m.id
)
SELECT * FROM balances
WHERE (NOT has_account AND has_points)
   OR available < 0 OR pending < 0 OR debt < 0
   OR (available > 0 AND debt > 0)
   OR available - debt <> entries_total
   OR available <> lots_open
   OR pending <> lots_pending
ORDER BY member_id
"""

_LOTS = """
SELECT l.id, l.member_id, l.reference, l.points, l.remaining, l.pending,
       coalesce(sum(m.points), 0) AS moved, count(m.id) AS movements
FROM points_lots l
LEFT JOIN points_lot_movements m ON m.lot_id = l.id
GROUP BY l.id
HAVING l.remaining < 0 OR l.remaining > l.points
    OR l.remaining <> l.points + coalesce(sum(m.points), 0)
    OR (l.pending AND count(m.id) > 0)
ORDER BY l.member_id, l.id
"""

_ENTRIES = """
SELECT e.id, e.member_id, e.seq, e.entry_type, e.points,
       coalesce(sum(m.points), 0) AS moved,
       count(m.id) FILTER (WHERE m.points > 0) AS additions,
       count(m.id) FILTER (WHERE m.member_id <> e.member_id OR l.member_id <> e.member_id)
           AS foreign_movements,
       count(m.id) FILTER (WHERE l.reference <> e.reference) AS other_reference
FROM points_entries e
LEFT JOIN points_lot_movements m ON m.entry_id = e.id
LEFT JOIN points_lots l ON l.id = m.lot_id
GROUP BY e.id
HAVING count(m.id) FILTER (WHERE m.points > 0) > 0
    OR count(m.id) FILTER (WHERE m.member_id <> e.member_id OR l.member_id <> e.member_id) > 0
    OR CASE
        WHEN e.entry_type IN ('redeem', 'expire') OR (e.entry_type = 'adjust' AND e.points < 0)
            THEN coalesce(sum(m.points), 0) <> e.points
        WHEN e.entry_type = 'reverse'
            THEN coalesce(sum(m.points), 0) NOT BETWEEN e.points AND 0
        ELSE coalesce(sum(m.points), 0) NOT BETWEEN -e.points AND 0
            OR count(m.id) FILTER (WHERE l.reference <> e.reference) > 0
    END
ORDER BY e.member_id, e.seq
"""

_CREDITS = """
WITH credited AS (
    SELECT member_id, reference, sum(points) AS points
    FROM points_entries
    WHERE entry_type IN ('earn', 'restore') OR (entry_type = 'adjust' AND points > 0)
    GROUP BY member_id, reference
), lots AS (
    SELECT member_id, reference, sum(points) AS points
    FROM points_lots
    WHERE NOT pending AND reference <> $1
    GROUP BY member_id, reference
)
SELECT member_id, reference, coalesce(c.points, 0) AS credited, coalesce(l.points, 0) AS in_lots
FROM credited c FULL JOIN lots l USING (member_id, reference)
WHERE coalesce(c.points, 0) <> coalesce(l.points, 0)
ORDER BY member_id, reference
"""


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str
    member_id: UUID
    detail: str
    entry_id: int | None = None
    seq: int | None = None
    lot_id: int | None = None

    def __str__(self) -> str:
        where = [f"member={self.member_id}"]
        if self.entry_id is not None:
            where.append(f"entry={self.entry_id}")
        if self.seq is not None:
            where.append(f"seq={self.seq}")
        if self.lot_id is not None:
            where.append(f"lot={self.lot_id}")
        return f"{self.kind} {' '.join(where)}: {self.detail}"


@dataclass(slots=True)
class LedgerReport:
    members: int = 0
    entries: int = 0
    lots: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def kinds(self) -> set[str]:
        return {m.kind for m in self.mismatches}

    def summary(self) -> str:
        return (
            f"ledger verify: {self.members} members, {self.entries} entries, "
            f"{self.lots} lots checked, {len(self.mismatches)} mismatches"
        )


OnMismatch = Callable[[Mismatch], None]


async def verify_ledger(
    connection: asyncpg.Connection,
    *,
    on_mismatch: OnMismatch | None = None,
    prefetch: int = 2000,
) -> LedgerReport:
    """Runs every check in one snapshot; ``on_mismatch`` hears of each failure as it is found."""
    report = LedgerReport()

    def found(mismatch: Mismatch) -> None:
        report.mismatches.append(mismatch)
        if on_mismatch is not None:
            on_mismatch(mismatch)

    async with connection.transaction(isolation="repeatable_read", readonly=True):
        counts = await connection.fetchrow(_COUNTS)
        report.members = counts["members"]
        report.lots = counts["lots"]
        report.entries = await _verify_chains(connection, found, prefetch)
        for check in (_verify_accounts, _verify_lots, _verify_entries, _verify_credits):
            await check(connection, found, prefetch)
    return report


async def verify_ledger_at(
    database_url: str, *, on_mismatch: OnMismatch | None = None
) -> LedgerReport:
    connection = await asyncpg.connect(database_url)
    try:
        # Read times as the service does: an infinity left by a hand edit is clamped, not a crash.
        await install_codecs(connection)
        return await verify_ledger(connection, on_mismatch=on_mismatch)
    finally:
        await connection.close()


async def _verify_chains(
    connection: asyncpg.Connection, found: Callable[[Mismatch], None], prefetch: int
) -> int:
    entries = 0
    member: UUID | None = None
    expected_seq = 1
    previous_hash = b""
    async for row in connection.cursor(_CHAINS, prefetch=prefetch):
        entries += 1
        if row["member_id"] != member:
            member = row["member_id"]
            expected_seq = 1
            previous_hash = b""
        where: dict[str, Any] = {"member_id": row["member_id"], "entry_id": row["id"]}
        seq = row["seq"]
        if seq != expected_seq:
            found(Mismatch("seq_gap", seq=seq, detail=f"expected seq {expected_seq}", **where))
        prev_hash = bytes(row["prev_hash"])
        if prev_hash != previous_hash:
            detail = (
                "the first entry's prev_hash is not empty"
                if seq == 1 and expected_seq == 1
                else "prev_hash is not the previous entry's entry_hash"
            )
            found(Mismatch("prev_hash", seq=seq, detail=detail, **where))
        stored = bytes(row["entry_hash"])
        try:
            recomputed: bytes | None = hash_of_row(row)
            detail = "the content does not hash to the stored entry_hash"
        except (OverflowError, TypeError, ValueError):
            # A time no service could have written (e.g. an infinity read without the codecs).
            recomputed = None
            detail = "a time in the entry cannot be hashed: it was not written by the service"
        if recomputed != stored:
            found(Mismatch("entry_hash", seq=seq, detail=detail, **where))
        # Chain on the stored hash: one altered row is one finding, not a cascade.
        expected_seq = seq + 1
        previous_hash = stored
    return entries


async def _verify_accounts(
    connection: asyncpg.Connection, found: Callable[[Mismatch], None], prefetch: int
) -> None:
    async for row in connection.cursor(_ACCOUNTS, prefetch=prefetch):
        member_id = row["member_id"]
        available, pending, debt = row["available"], row["pending"], row["debt"]
        if not row["has_account"]:
            found(
                Mismatch(
                    "account_missing",
                    member_id,
                    "the member has entries or lots but no points account",
                )
            )
        if available < 0 or pending < 0 or debt < 0:
            found(
                Mismatch(
                    "account_negative",
                    member_id,
                    f"available {available}, pending {pending}, debt {debt}",
                )
            )
        if available > 0 and debt > 0:
            found(
                Mismatch(
                    "account_debt_and_available",
                    member_id,
                    f"available {available} and debt {debt} at once",
                )
            )
        if available - debt != row["entries_total"]:
            found(
                Mismatch(
                    "account_ledger",
                    member_id,
                    f"available - debt = {available - debt}, entries sum to {row['entries_total']}",
                )
            )
        if available != row["lots_open"]:
            found(
                Mismatch(
                    "account_lots",
                    member_id,
                    f"available {available}, non-pending lots hold {row['lots_open']}",
                )
            )
        if pending != row["lots_pending"]:
            found(
                Mismatch(
                    "account_pending",
                    member_id,
                    f"pending {pending}, pending lots hold {row['lots_pending']}",
                )
            )


async def _verify_lots(
    connection: asyncpg.Connection, found: Callable[[Mismatch], None], prefetch: int
) -> None:
    async for row in connection.cursor(_LOTS, prefetch=prefetch):
        where: dict[str, Any] = {"member_id": row["member_id"], "lot_id": row["id"]}
        points, remaining, moved = row["points"], row["remaining"], row["moved"]
        if remaining < 0 or remaining > points or remaining != points + moved:
            found(
                Mismatch(
                    "lot_remaining",
                    detail=f"remaining {remaining}, points {points} + movements {moved} "
                    f"= {points + moved}",
                    **where,
                )
            )
        if row["pending"] and row["movements"]:
            found(
                Mismatch(
                    "lot_pending_moved",
                    detail=f"a pending lot has {row['movements']} movements",
                    **where,
                )
            )


async def _verify_entries(
    connection: asyncpg.Connection, found: Callable[[Mismatch], None], prefetch: int
) -> None:
    async for row in connection.cursor(_ENTRIES, prefetch=prefetch):
        where: dict[str, Any] = {
            "member_id": row["member_id"],
            "entry_id": row["id"],
            "seq": row["seq"],
        }
        if row["foreign_movements"]:
            found(
                Mismatch(
                    "movement_member",
                    detail=f"{row['foreign_movements']} movements touch another member's "
                    "lots or are filed under another member",
                    **where,
                )
            )
        problem = _entry_problem(
            row["entry_type"],
            row["points"],
            row["moved"],
            additions=row["additions"],
            other_reference=row["other_reference"],
        )
        if problem:
            found(Mismatch("entry_movements", detail=problem, **where))


def _entry_problem(
    entry_type: str, points: int, moved: int, *, additions: int, other_reference: int
) -> str | None:
    """Why an entry's movements do not fit the entry (the same rules as the SQL above)."""
    if additions:
        return f"{additions} movements add points to a lot"
    if entry_type in DEBITS_FROM_LOTS or (entry_type == "adjust" and points < 0):
        if moved != points:
            return f"{entry_type} of {points} points took {-moved} points from lots"
    elif entry_type == "reverse":
        if not points <= moved <= 0:
            return f"reverse of {points} points took {-moved} points from lots"
    else:
        if not -points <= moved <= 0:
            return f"{entry_type} of {points} points paid {-moved} points of debt"
        if other_reference:
            return f"{other_reference} debt payments are on lots of another reference"
    return None


async def _verify_credits(
    connection: asyncpg.Connection, found: Callable[[Mismatch], None], prefetch: int
) -> None:
    async for row in connection.cursor(_CREDITS, OPENING_BALANCE, prefetch=prefetch):
        found(
            Mismatch(
                "credit_lots",
                row["member_id"],
                f"reference {row['reference']}: credit entries add {row['credited']} points, "
                f"its lots were credited {row['in_lots']}",
            )
        )
