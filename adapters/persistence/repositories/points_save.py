# ruff: noqa: S608 (only parameter placeholders, $n::type, are put into the text)
"""The one statement that writes what a points account's operation changed.

Balances, ledger entries, new lots, changed lots and lot movements go in a single statement,
built for the parts this save has: a sale that only earns writes the balances, one entry and
one lot. Leaving the empty parts out matters twice over. PostgreSQL plans a statement of
empty arrays joined to points_lots as if the arrays held a hundred rows, so it never settles
on a generic plan and re-plans on every execution (half a millisecond per sale); and a
statement per shape keeps each plan simple enough for the generic one to win.

Within the statement, the entries are inserted in order (the chain trigger numbers and hashes
each as it arrives, and sees the ones before it), movements find their entry by posting key
and their new lot by its place in the list, and foreign keys are checked at its end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from domain.points import PointsAccount


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


def save_statement(account: PointsAccount, now: datetime) -> tuple[str, list[Any]]:
    """The statement and its arguments; it returns the new lots' ids, in the list's order."""
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
    shape = _Shape(bool(entries), bool(new_lots), bool(changed), bool(moves))
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
    return _sql(shape), args


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
        parts.append(f"""entry AS (
    INSERT INTO points_entries (member_id, entry_type, points, reference, posting_key,
                                created_at, expires_at, actor, reason)
    SELECT {member}, e.entry_type, e.points, e.reference, e.posting_key, e.created_at,
           e.expires_at, e.actor, e.reason
    FROM unnest({s.arg("text[]")}, {s.arg("bigint[]")}, {s.arg("text[]")},
                {s.arg("text[]")}, {s.arg("timestamptz[]")},
                {s.arg("timestamptz[]")}, {s.arg("text[]")},
                {s.arg("text[]")}) WITH ORDINALITY
        AS e(entry_type, points, reference, posting_key, created_at, expires_at, actor, reason,
             n)
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
    WHERE lot.id = c.id
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
