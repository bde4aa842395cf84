# ruff: noqa: S608 (only parameter placeholders, $n::type, are put into the text)
"""The one statement that writes what a points account's operation changed.

Balances, ledger entries, new lots, changed lots and lot movements go in a single statement,
built for the parts this save has: a sale that only earns writes the balances, one entry and
one lot. Leaving the empty parts out matters twice over. PostgreSQL plans a statement of
empty arrays joined to points_lots as if the arrays held a hundred rows, so it never settles
on a generic plan and re-plans on every execution (half a millisecond per sale); and a
statement per shape keeps each plan simple enough for the generic one to win.

Within the statement, the entries are inserted in order, movements find their entry by
posting key and their new lot by its place in the list, and foreign keys are checked at its end.

The entries' chain (seq, prev_hash, entry_hash) is computed here when the transaction read the
member's last link after taking the account lock (``chain_head``; the sale path does): the
row trigger that would otherwise number and hash each entry, with a query and a hash in
PL/pgSQL per row, is then skipped. The database does not trust these columns: the statement
trigger ``points_entries_chain_check`` recomputes every supplied hash and link and refuses
the statement if one is wrong, and UNIQUE (member_id, seq) refuses a fork. Without a head
(every other writer), the row trigger chains the entries as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from adapters.persistence import session
from adapters.persistence.ledger_hash import entry_hash
from domain.points import LedgerEntry, PointsAccount

ChainHead = tuple[int, bytes]  # a member's last entry: its seq and entry_hash ((0, b"") if none)


def chain_head(member_id: UUID, seq: int | None, last_hash: bytes | None) -> None:
    """A statement of the active transaction, run after it took ``member_id``'s account lock,
    read the member's last ledger entry (None, None: no entry yet): the entries this
    transaction saves for the member continue it."""
    session.active().chain_heads[member_id] = (seq or 0, bytes(last_hash or b""))


def _links(member_id: UUID, entries: Sequence[LedgerEntry], head: ChainHead) -> list[ChainHead]:
    """(seq, entry_hash) of each entry, continuing ``head``: what the row trigger computes."""
    seq, previous = head
    links = []
    for e in entries:
        seq += 1
        previous = entry_hash(
            member_id=member_id,
            seq=seq,
            entry_type=e.type.value,
            points=e.points,
            reference=str(e.reference),
            posting_key=e.posting_key,
            created_at=e.created_at,
            expires_at=e.expires_at,
            actor=e.actor,
            reason=e.reason,
            prev_hash=previous,
        )
        links.append((seq, previous))
    return links


def _aware(entry: LedgerEntry) -> bool:
    # A naive time would be stored as UTC but hashed here as local time: leave it to the trigger.
    return entry.created_at.tzinfo is not None and (
        entry.expires_at is None or entry.expires_at.tzinfo is not None
    )


class _Parameters:
    """Numbers the statement's parameters in the order ``save_statement`` lists the values."""

    def __init__(self) -> None:
        self.count = 0

    def arg(self, cast: str) -> str:
        self.count += 1
        return f"${self.count}::{cast}"


@dataclass(frozen=True)
class _Shape:
    entries: bool
    new_lots: bool
    changed_lots: bool
    movements: bool
    chained: bool = False


def save_statement(
    account: PointsAccount, now: datetime, head: ChainHead | None = None
) -> tuple[str, list[Any], ChainHead | None]:
    """The statement and its arguments, and the member's chain head once it has run (None:
    the database chains the entries). The statement returns the new lots' ids, in order."""
    entries, new_lots, moves = account.new_entries, account.new_lots, account.movements
    new_lot_number = {id(lot): n for n, lot in enumerate(new_lots, start=1)}
    changed = list(
        {
            lot.id: lot
            for lot in account.changed_lots
            if id(lot) not in new_lot_number and lot.id is not None
        }.values()
    )
    posted = {e.posting_key for e in entries}
    if any(m.entry.posting_key not in posted for m in moves):
        raise ValueError("a lot movement names an entry this save does not insert")
    links = (
        _links(account.member_id, entries, head)
        if head is not None and entries and all(_aware(e) for e in entries)
        else None
    )
    shape = _Shape(bool(entries), bool(new_lots), bool(changed), bool(moves), links is not None)
    args: list[Any] = [account.member_id, account.available, account.pending, account.debt, now]
    if shape.entries:
        args += _columns(
            entries,
            lambda e: e.type.value,
            "points",
            lambda e: str(e.reference),
            "posting_key",
            "created_at",
            "expires_at",
            "actor",
            "reason",
        )
    if links is not None:
        assert head is not None
        args.append([seq for seq, _ in links])
        args.append([head[1]] + [link for _, link in links[:-1]])
        args.append([link for _, link in links])
    if shape.new_lots:
        args += _columns(
            new_lots,
            lambda lot: str(lot.reference),
            "earned_at",
            "expires_at",
            "points",
            "remaining",
            "pending",
            "release_at",
            "frozen",
        )
    if shape.changed_lots:
        args += _columns(changed, "id", "points", "remaining", "pending", "release_at", "frozen")
    if shape.movements:
        args += _columns(
            moves,
            lambda m: m.entry.posting_key,
            lambda m: m.lot.id if id(m.lot) not in new_lot_number else None,
            lambda m: new_lot_number.get(id(m.lot)),
            "points",
        )
    new_head = links[-1] if links else (head if head is not None and not entries else None)
    return _sql(shape), args, new_head


def _columns(items: Sequence[Any], *fields: str | Callable[[Any], Any]) -> list[list[Any]]:
    """One array per field (an attribute name or a function of the item), for unnest()."""
    return [
        [field(item) if callable(field) else getattr(item, field) for item in items]
        for field in fields
    ]


@cache
def _sql(shape: _Shape) -> str:
    s = _Parameters()
    member = s.arg("uuid")
    parts = [
        f"""account AS (
    UPDATE points_accounts
    SET available = {s.arg("bigint")}, pending = {s.arg("bigint")},
        debt = {s.arg("bigint")}, updated_at = {s.arg("timestamptz")}
    WHERE member_id = {member}
)"""
    ]
    if shape.entries:
        columns = "member_id, entry_type, points, reference, posting_key, created_at, expires_at, "
        columns += "actor, reason" + (", seq, prev_hash, entry_hash" if shape.chained else "")
        chain = ", e.seq, e.prev_hash, e.entry_hash" if shape.chained else ""
        chain_names = "seq, prev_hash, entry_hash, " if shape.chained else ""
        arrays = f"""{s.arg("text[]")}, {s.arg("bigint[]")}, {s.arg("text[]")},
                {s.arg("text[]")}, {s.arg("timestamptz[]")},
                {s.arg("timestamptz[]")}, {s.arg("text[]")},
                {s.arg("text[]")}"""
        if shape.chained:
            arrays += f""", {s.arg("bigint[]")}, {s.arg("bytea[]")}, {s.arg("bytea[]")}"""
        parts.append(f"""entry AS (
    INSERT INTO points_entries ({columns})
    SELECT {member}, e.entry_type, e.points, e.reference, e.posting_key, e.created_at,
           e.expires_at, e.actor, e.reason{chain}
    FROM unnest({arrays}) WITH ORDINALITY
        AS e(entry_type, points, reference, posting_key, created_at, expires_at, actor, reason,
             {chain_names}n)
    ORDER BY e.n
    RETURNING id, posting_key
)""")
    if shape.new_lots:
        # Ids come from the sequence first, so that movements can name the new lots.
        parts.append(f"""new_lot AS MATERIALIZED (
    SELECT nextval('points_lots_id_seq') AS id, l.*
    FROM unnest({s.arg("text[]")}, {s.arg("timestamptz[]")},
                {s.arg("timestamptz[]")}, {s.arg("bigint[]")},
                {s.arg("bigint[]")}, {s.arg("boolean[]")},
                {s.arg("timestamptz[]")}, {s.arg("boolean[]")}) WITH ORDINALITY
        AS l(reference, earned_at, expires_at, points, remaining, pending, release_at, frozen,
             n)
),
inserted AS (
    INSERT INTO points_lots (id, member_id, reference, earned_at, expires_at, points,
                             remaining, pending, release_at, frozen)
    SELECT id, {member}, reference, earned_at, expires_at, points, remaining, pending,
           release_at, frozen
    FROM new_lot
)""")
    if shape.changed_lots:
        parts.append(f"""changed AS (
    UPDATE points_lots AS lot
    SET points = c.points, remaining = c.remaining, pending = c.pending,
        release_at = c.release_at, frozen = c.frozen
    FROM unnest({s.arg("bigint[]")}, {s.arg("bigint[]")}, {s.arg("bigint[]")},
                {s.arg("boolean[]")}, {s.arg("timestamptz[]")},
                {s.arg("boolean[]")})
        AS c(id, points, remaining, pending, release_at, frozen)
    WHERE lot.member_id = {member} AND lot.id = c.id
)""")
    if shape.movements:
        # A movement is always of an entry this save inserts.
        new_lot_join = "LEFT JOIN new_lot ON new_lot.n = m.new_lot" if shape.new_lots else ""
        lot_id = "coalesce(m.lot_id, new_lot.id)" if shape.new_lots else "m.lot_id"
        parts.append(f"""moved AS (
    INSERT INTO points_lot_movements (member_id, entry_id, lot_id, points)
    SELECT {member}, entry.id, {lot_id}, m.points
    FROM unnest({s.arg("text[]")}, {s.arg("bigint[]")}, {s.arg("bigint[]")},
                {s.arg("bigint[]")}) WITH ORDINALITY
        AS m(posting_key, lot_id, new_lot, points, n)
    JOIN entry ON entry.posting_key = m.posting_key
    {new_lot_join}
    ORDER BY m.n
)""")
    result = (
        "SELECT id FROM new_lot ORDER BY n" if shape.new_lots else "SELECT NULL::bigint WHERE false"
    )
    return "WITH " + ",\n".join(parts) + "\n" + result
