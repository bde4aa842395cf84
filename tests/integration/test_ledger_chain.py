"""The hash chain in the database: entries chained by the trigger, or by the writer and checked.

A writer holding the account lock may insert entries with seq, prev_hash and entry_hash already
computed (the expiry job does, for whole batches, and a sale does for its own entries); the
statement trigger then admits exactly the rows the row trigger would have written, and refuses
the whole statement otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence import session
from adapters.persistence.ledger_hash import batch_hasher, entry_hash, hash_of_row
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from domain.points import Reference
from tests.integration.factories import a_member

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]
AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)

INSERT = """
INSERT INTO points_entries (member_id, entry_type, points, reference, posting_key, created_at,
                            expires_at, seq, prev_hash, entry_hash)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[],
                     $6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::bytea[], $10::bytea[])
"""


@dataclass(frozen=True)
class Entry:
    member_id: UUID
    points: int
    posting_key: str
    seq: int | None = None
    prev_hash: bytes | None = None
    entry_hash: bytes | None = None
    entry_type: str = "earn"
    reference: str = "sale:s1"
    expires_at: datetime | None = None

    def chained(self, seq: int, prev_hash: bytes) -> Entry:
        """This entry as the writer would chain it after an entry hashing to ``prev_hash``."""
        return Entry(
            self.member_id,
            self.points,
            self.posting_key,
            seq,
            prev_hash,
            entry_hash(
                member_id=self.member_id,
                seq=seq,
                entry_type=self.entry_type,
                points=self.points,
                reference=self.reference,
                posting_key=self.posting_key,
                created_at=AT,
                expires_at=self.expires_at,
                actor=None,
                reason=None,
                prev_hash=prev_hash,
            ),
            self.entry_type,
            self.reference,
            self.expires_at,
        )


async def insert(engine: PostgresEngine, *entries: Entry) -> None:
    columns: list[list[Any]] = [[] for _ in range(10)]
    for e in entries:
        values = (
            e.member_id,
            e.entry_type,
            e.points,
            e.reference,
            e.posting_key,
            AT,
            e.expires_at,
            e.seq,
            e.prev_hash,
            e.entry_hash,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    async with engine.pool.acquire() as connection:
        await connection.execute(INSERT, *columns)


async def chain(engine: PostgresEngine, member_id: UUID) -> list[dict[str, Any]]:
    async with engine.pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT * FROM points_entries WHERE member_id = $1 ORDER BY seq", member_id
        )
    return [dict(row) for row in rows]


def assert_intact(rows: list[dict[str, Any]]) -> None:
    previous = b""
    for n, row in enumerate(rows, start=1):
        assert row["seq"] == n
        assert bytes(row["prev_hash"]) == previous
        assert bytes(row["entry_hash"]) == hash_of_row(row)
        previous = bytes(row["entry_hash"])


@pytest.fixture
async def member_id(uow_factory: UowFactory) -> UUID:
    member = a_member("+8613800100001", card=1)
    async with uow_factory() as uow:
        assert await uow.members.add(member) is True
        await uow.points.open_account(member.id)
        await uow.commit()
    return member.id


async def test_entries_without_chain_columns_are_chained_by_the_database(
    engine: PostgresEngine, member_id: UUID
) -> None:
    await insert(engine, Entry(member_id, 10, "a"), Entry(member_id, 20, "b"))
    await insert(engine, Entry(member_id, 30, "c"))

    rows = await chain(engine, member_id)
    assert [(r["seq"], r["posting_key"]) for r in rows] == [(1, "a"), (2, "b"), (3, "c")]
    assert_intact(rows)


async def test_entries_chained_by_the_writer_are_stored_as_the_database_would_chain_them(
    engine: PostgresEngine, member_id: UUID
) -> None:
    first = Entry(member_id, 10, "a").chained(1, b"")
    assert first.entry_hash is not None
    second = Entry(
        member_id, -10, "x:lot:1", entry_type="expire", reference="x", expires_at=AT
    ).chained(2, first.entry_hash)

    await insert(engine, first, second)
    await insert(engine, Entry(member_id, 5, "b"))  # the trigger carries on from the writer's

    rows = await chain(engine, member_id)
    assert [bytes(r["entry_hash"]) for r in rows[:2]] == [first.entry_hash, second.entry_hash]
    assert [r["posting_key"] for r in rows] == ["a", "x:lot:1", "b"]
    assert_intact(rows)


async def test_one_statement_may_mix_chained_and_unchained_entries(
    engine: PostgresEngine, member_id: UUID
) -> None:
    await insert(engine, Entry(member_id, 10, "a"))
    [head] = await chain(engine, member_id)
    chained = Entry(member_id, 20, "b").chained(2, bytes(head["entry_hash"]))

    await insert(engine, chained, Entry(member_id, 30, "c"))

    rows = await chain(engine, member_id)
    assert [r["posting_key"] for r in rows] == ["a", "b", "c"]
    assert_intact(rows)


def _forged(head: bytes, member_id: UUID) -> dict[str, list[Entry]]:
    right = Entry(member_id, 20, "b").chained(2, head)
    other_content = Entry(member_id, 21, "b").chained(2, head)
    return {
        "the hash of other content": [Entry(member_id, 20, "b", 2, head, other_content.entry_hash)],
        "a link to another hash": [Entry(member_id, 20, "b").chained(2, b"\x00" * 32)],
        "a skipped seq": [Entry(member_id, 20, "b").chained(3, head)],
        "a second first entry": [Entry(member_id, 20, "b").chained(1, b"")],
        "a first entry with a previous hash": [Entry(member_id, 20, "b").chained(1, head)],
        "a bad row after a good one": [
            right,
            Entry(member_id, 30, "c", 3, right.entry_hash, b"\x01" * 32),
        ],
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "the hash of other content",
        "a link to another hash",
        "a skipped seq",
        "a second first entry",
        "a first entry with a previous hash",
        "a bad row after a good one",
    ],
)
async def test_entries_that_do_not_continue_the_chain_are_refused_with_their_statement(
    engine: PostgresEngine, member_id: UUID, forgery: str
) -> None:
    await insert(engine, Entry(member_id, 10, "a"))
    [head] = await chain(engine, member_id)

    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        await insert(engine, *_forged(bytes(head["entry_hash"]), member_id)[forgery])

    rows = await chain(engine, member_id)
    assert [r["posting_key"] for r in rows] == ["a"]
    await insert(engine, Entry(member_id, 5, "d"))  # the chain goes on from where it was
    assert_intact(await chain(engine, member_id))


def test_the_batch_hasher_hashes_exactly_as_entry_hash() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    member_ids = [UUID(int=1), UUID(int=2**128 - 1)]
    for reference in ("expiry_run:9", "expiry_run:ünïcödé-参考"):
        hasher = batch_hasher(entry_type="expire", reference=reference, created_at=now)
        for member_id in member_ids:
            for seq, points, expires_at, prev_hash in (
                (1, -1, None, b""),
                (2, -500, datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC), b"\x00" * 32),
                (10**6, -(10**12), datetime(2025, 3, 30, 1, tzinfo=UTC), bytes(range(32))),
            ):
                posting_key = f"{reference}:lot:{seq}"
                assert hasher(
                    member_id, seq, points, posting_key, expires_at, prev_hash
                ) == entry_hash(
                    member_id=member_id,
                    seq=seq,
                    entry_type="expire",
                    points=points,
                    reference=reference,
                    posting_key=posting_key,
                    created_at=now,
                    expires_at=expires_at,
                    actor=None,
                    reason=None,
                    prev_hash=prev_hash,
                )


# The sale path chains its entries itself: the lock's statement reads the member's last link
# (session.chain_heads) and the save supplies seq, prev_hash and entry_hash, so the row trigger
# is skipped. The database still checks every supplied link (points_entries_chain_check).


async def _sell_points(uow: PostgresUnitOfWork, member_id: UUID, points: int, key: str) -> None:
    buyer = await uow.sales.buyer_for_update(member_id, AT, spending=False)
    assert buyer is not None
    buyer.account.earn(points, reference=Reference.parse(f"sale:{key}"), now=datetime.now(UTC))
    await uow.points.save(buyer.account)


async def test_a_sale_supplies_its_entries_chain_and_the_database_stores_it_unchanged(
    engine: PostgresEngine, member_id: UUID, uow_factory: UowFactory
) -> None:
    await insert(engine, Entry(member_id, 10, "by-the-trigger"))
    async with uow_factory() as uow:
        await _sell_points(uow, member_id, 20, "s1")
        await _sell_points(uow, member_id, 30, "s2")  # a second save goes on from the first
        heads = session.active().chain_heads
        assert heads[member_id][0] == 3  # chained in the service, not left to the trigger
        await uow.commit()
    await insert(engine, Entry(member_id, 5, "by-the-trigger-again"))

    rows = await chain(engine, member_id)
    assert [r["points"] for r in rows] == [10, 20, 30, 5]
    assert_intact(rows)
    assert bytes(rows[2]["entry_hash"]) == heads[member_id][1]


@pytest.mark.parametrize("stale", ["an old seq", "a wrong previous hash"])
async def test_a_sale_that_continues_a_wrong_chain_head_is_refused_by_the_database(
    engine: PostgresEngine, member_id: UUID, uow_factory: UowFactory, stale: str
) -> None:
    await insert(
        engine,
        Entry(member_id, 10, "a"),
    )
    [head] = await chain(engine, member_id)
    wrong = {
        # Another writer's entry slipped in after the read: a fork at seq 2.
        "an old seq": (0, b""),
        # A writer that hashes what it likes: the link does not match the stored entry.
        "a wrong previous hash": (1, bytes(32)),
    }[stale]
    async with uow_factory() as uow:
        buyer = await uow.sales.buyer_for_update(member_id, AT, spending=False)
        assert buyer is not None
        assert session.active().chain_heads[member_id] == (1, bytes(head["entry_hash"]))
        session.active().chain_heads[member_id] = wrong
        buyer.account.earn(5, reference=Reference.parse("sale:x"), now=datetime.now(UTC))
        refused = (asyncpg.IntegrityConstraintViolationError, asyncpg.UniqueViolationError)
        with pytest.raises(refused):
            await uow.points.save(buyer.account)

    assert [r["posting_key"] for r in await chain(engine, member_id)] == ["a"]
