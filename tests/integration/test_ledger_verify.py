"""`loyalty ledger verify`: a ledger written by the real use cases verifies; tampering does not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from uuid import UUID

import asyncpg
import pytest

from adapters.persistence.ledger_audit import LedgerReport, verify_ledger, verify_ledger_at
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.use_cases.points import AdjustPoints, adjust_points
from app.use_cases.sales import LineInput, RecordSale, RefundSale, record_sale, refund_sale
from app.wiring.cli import main
from domain.points import Reference
from domain.program import DEFAULT_PROGRAM, ExpiryKind, PointsExpiryRule
from domain.sale_dating import SaleDating
from domain.sales import RefundLine
from tests.integration.factories import T0, a_member, a_store
from tests.support.fakes import FixedClock, SequentialIds

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]
APPEND_ONLY = "points_entries_append_only"


@dataclass
class Ledger:
    """What the scenario wrote, to aim the tampering at."""

    saver: str  # member ids as text
    spender: str
    idle: str


async def _sell(
    uow_factory: UowFactory,
    clock: FixedClock,
    ids: SequentialIds,
    store_id: UUID,
    member_id: UUID,
    receipt: str,
    lines: list[LineInput],
    redeem: int = 0,
    channel: str = "pos",
) -> UUID:
    async with uow_factory() as uow:
        outcome = await record_sale(
            RecordSale(
                store_id=store_id,
                terminal_id=None,
                receipt_id=receipt,
                lines=lines,
                member_id=member_id,
                redeem_points=redeem,
                channel=channel,
            ),
            uow,
            clock=clock,
            ids=ids,
            dating=SaleDating(),
        )
        await uow.commit()
    assert outcome.sale_id is not None
    return outcome.sale_id


async def _refund(
    uow_factory: UowFactory,
    clock: FixedClock,
    ids: SequentialIds,
    store_id: UUID,
    sale_id: UUID,
    refund_id: str,
    *,
    lines: tuple[RefundLine, ...] = (),
    amount: int | None = None,
) -> None:
    async with uow_factory() as uow:
        await refund_sale(
            RefundSale(
                store_id=store_id,
                sale_id=sale_id,
                refund_id=refund_id,
                lines=lines,
                amount=amount,
            ),
            uow,
            clock=clock,
            ids=ids,
        )
        await uow.commit()


async def _adjust(
    uow_factory: UowFactory, clock: FixedClock, ids: SequentialIds, member_id: UUID, points: int
) -> None:
    async with uow_factory() as uow:
        await adjust_points(
            AdjustPoints(
                member_id=member_id,
                points=points,
                reason="goodwill",
                actor="ops",
            ),
            uow,
            clock=clock,
            ids=ids,
        )
        await uow.commit()


@pytest.fixture
async def ledger(uow_factory: UowFactory) -> Ledger:
    """Sales with redemption, partial and full refunds (leaving a debt that a later sale pays
    off), adjustments both ways, online points pending, partly cancelled and released, and
    lots expired through the domain."""
    clock = FixedClock(T0)
    ids = SequentialIds(1000)
    store = a_store()
    saver, spender, idle = (
        a_member("+8613800138001", card=1),
        a_member("+8613800138002", card=2),
        a_member("+8613800138003", card=3),
    )
    async with uow_factory() as uow:
        await uow.stores.add_store(store)
        for member in (saver, spender, idle):
            await uow.members.add(member)
            await uow.points.open_account(member.id)
        await uow.program.save(
            replace(DEFAULT_PROGRAM, points_expiry=PointsExpiryRule(ExpiryKind.DAYS, 30))
        )
        await uow.commit()

    duvet = [LineInput("DUVET", 1, 50000)]
    towels = [LineInput("TOWEL", 2, 5000)]
    first = await _sell(uow_factory, clock, ids, store.id, spender.id, "R-1", duvet)  # +500
    clock.advance(days=1)
    # Pays 300 of 100.00 with points, earns 97 on the 97.00 paid.
    second = await _sell(uow_factory, clock, ids, store.id, spender.id, "R-2", towels, redeem=300)
    clock.advance(days=1)
    # Half the towels back: 48 of the 97 earned reversed, 150 of the 300 paid restored.
    await _refund(uow_factory, clock, ids, store.id, second, "F-2", lines=(RefundLine("TOWEL", 1),))
    # The whole duvet back: 500 reversed, of which only 399 are still there: 101 of debt.
    await _refund(uow_factory, clock, ids, store.id, first, "F-1", amount=50000)
    clock.advance(days=1)
    await _sell(uow_factory, clock, ids, store.id, spender.id, "R-3", duvet)  # pays the debt
    await _adjust(uow_factory, clock, ids, spender.id, 50)
    await _adjust(uow_factory, clock, ids, spender.id, -20)

    await _sell(uow_factory, clock, ids, store.id, saver.id, "R-4", duvet)
    await _adjust(uow_factory, clock, ids, saver.id, -100)
    # Online: 500 pending, 100 of them cancelled by a refund, the other 400 released.
    web = await _sell(uow_factory, clock, ids, store.id, saver.id, "W-1", duvet, channel="web")
    await _refund(uow_factory, clock, ids, store.id, web, "WF-1", amount=10000)
    clock.advance(days=20)
    async with uow_factory() as uow:
        account = await uow.points.get_for_update(saver.id)
        for lot in [lot for lot in account.lots if lot.pending]:
            account.release(lot, now=clock.now())
        await uow.points.save(account)
        await uow.commit()

    # Forty days on, everything earned in the first three days has expired.
    clock.advance(days=20)
    async with uow_factory() as uow:
        for member in (saver, spender):
            account = await uow.points.get_for_update(member.id)
            for lot in list(account.lots):
                if lot.expires_at is not None and lot.expires_at <= clock.now():
                    account.expire(lot, reference=Reference("expiry_run", "run-1"), now=clock.now())
            await uow.points.save(account)
        await uow.commit()
    # And points earned after the expiry, so the chain goes on past it.
    await _sell(uow_factory, clock, ids, store.id, spender.id, "R-5", towels)
    await _sell(uow_factory, clock, ids, store.id, saver.id, "W-2", towels, channel="web")
    return Ledger(str(saver.id), str(spender.id), str(idle.id))


@pytest.fixture
async def db(ledger: Ledger, clean_db: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(clean_db)
    try:
        yield connection
    finally:
        await connection.close()


async def _verify(db: asyncpg.Connection) -> LedgerReport:
    return await verify_ledger(db)


async def _without_append_only(db: asyncpg.Connection, statement: str, *args: object) -> None:
    await db.execute(f"ALTER TABLE points_entries DISABLE TRIGGER {APPEND_ONLY}")
    try:
        await db.execute(statement, *args)
    finally:
        await db.execute(f"ALTER TABLE points_entries ENABLE TRIGGER {APPEND_ONLY}")


# A clean ledger ---------------------------------------------------------------------------------


async def test_a_ledger_written_by_the_use_cases_verifies(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    report = await _verify(db)

    assert report.mismatches == []
    assert report.ok
    counts = await db.fetchrow(
        "SELECT (SELECT count(*) FROM points_entries) AS entries,"
        " (SELECT count(*) FROM points_lots) AS lots"
    )
    assert (report.members, report.entries, report.lots) == (3, counts["entries"], counts["lots"])


async def test_the_scenario_covers_every_kind_of_entry_debt_and_its_payment(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    types = {
        r["entry_type"] for r in await db.fetch("SELECT DISTINCT entry_type FROM points_entries")
    }
    debt_paid = await db.fetchval(
        "SELECT count(*) FROM points_lot_movements m JOIN points_entries e ON e.id = m.entry_id"
        " WHERE e.entry_type = 'earn'"
    )
    short_reverse = await db.fetchval(
        "SELECT count(*) FROM points_entries e WHERE e.entry_type = 'reverse' AND e.points <"
        " (SELECT coalesce(sum(points), 0) FROM points_lot_movements WHERE entry_id = e.id)"
    )

    lots = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE pending) AS pending,"
        " count(*) FILTER (WHERE NOT pending AND reference LIKE 'sale:%' AND points = 400)"
        " AS released FROM points_lots"
    )

    assert types == {"earn", "redeem", "reverse", "restore", "adjust", "expire"}
    assert (lots["pending"], lots["released"]) == (1, 1)  # one still pending, one partly cancelled
    assert debt_paid >= 1  # an earning paid off a debt
    assert short_reverse == 1  # a reversal that could not take everything from lots


async def test_the_cli_exits_0_and_prints_a_summary(
    ledger: Ledger,
    clean_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", clean_db)

    code = await asyncio.to_thread(main, ["ledger", "verify"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "MISMATCH" not in out
    assert out.strip().splitlines()[-1].startswith("ledger verify: 3 members, ")
    assert out.strip().endswith("lots checked, 0 mismatches")


# Tampering --------------------------------------------------------------------------------------


async def test_changing_an_entrys_points_breaks_its_hash_and_the_balance(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    entry = await db.fetchrow(
        "SELECT id, seq FROM points_entries WHERE member_id = $1 AND entry_type = 'adjust'"
        " AND points > 0",
        ledger.spender,
    )
    await _without_append_only(
        db, "UPDATE points_entries SET points = points + 1000 WHERE id = $1", entry["id"]
    )

    report = await _verify(db)

    assert not report.ok
    hashes = [m for m in report.mismatches if m.kind == "entry_hash"]
    assert [(str(m.member_id), m.entry_id, m.seq) for m in hashes] == [
        (ledger.spender, entry["id"], entry["seq"])
    ]
    assert "account_ledger" in report.kinds()
    assert "credit_lots" in report.kinds()


@pytest.mark.parametrize("stored", ["infinity", "-infinity"])
async def test_an_entry_time_edited_to_infinity_is_a_finding_not_a_crash(
    ledger: Ledger, db: asyncpg.Connection, clean_db: str, stored: str
) -> None:
    entry = await db.fetchrow(
        "SELECT id, seq FROM points_entries WHERE member_id = $1 ORDER BY seq LIMIT 1",
        ledger.saver,
    )
    await _without_append_only(
        db, f"UPDATE points_entries SET created_at = '{stored}' WHERE id = $1", entry["id"]
    )

    # Both with the service's time codecs (the CLI) and on a bare connection.
    for report in (await verify_ledger_at(clean_db), await _verify(db)):
        hashes = [
            (str(m.member_id), m.entry_id) for m in report.mismatches if m.kind == "entry_hash"
        ]
        assert hashes == [(ledger.saver, entry["id"])]


async def test_the_cli_reports_every_mismatch_and_exits_1(
    ledger: Ledger,
    db: asyncpg.Connection,
    clean_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _without_append_only(
        db, "UPDATE points_entries SET reason = 'tampered' WHERE entry_type = 'adjust'"
    )
    monkeypatch.setenv("DATABASE_URL", clean_db)

    code = await asyncio.to_thread(main, ["ledger", "verify"])

    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 1
    mismatches = [line for line in lines if line.startswith("MISMATCH")]
    assert len(mismatches) == 3  # the three adjustments, each caught by its own hash
    assert all(line.startswith("MISMATCH entry_hash member=") for line in mismatches)
    assert lines[-1].endswith("3 mismatches")


async def test_deleting_an_entry_leaves_a_gap_in_the_chain(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    # An earning that paid no debt has no movements, so nothing else refers to it.
    entry = await db.fetchrow(
        "SELECT e.id, e.seq FROM points_entries e WHERE e.member_id = $1"
        " AND e.entry_type = 'earn' AND e.seq > 1"
        " AND NOT EXISTS (SELECT FROM points_lot_movements m WHERE m.entry_id = e.id)"
        " ORDER BY e.seq LIMIT 1",
        ledger.spender,
    )
    await _without_append_only(db, "DELETE FROM points_entries WHERE id = $1", entry["id"])

    report = await _verify(db)

    gaps = [m for m in report.mismatches if m.kind == "seq_gap"]
    links = [m for m in report.mismatches if m.kind == "prev_hash"]
    assert [(str(m.member_id), m.seq) for m in gaps] == [(ledger.spender, entry["seq"] + 1)]
    assert [m.seq for m in links] == [entry["seq"] + 1]
    assert "account_ledger" in report.kinds()
    assert "entry_hash" not in report.kinds()  # every remaining row is as it was written


async def test_rewriting_the_chain_after_a_change_is_still_caught_by_the_balances(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    # A forger who can run the database's own hash function re-chains every later entry.
    entry = await db.fetchrow(
        "SELECT id, seq FROM points_entries WHERE member_id = $1 AND entry_type = 'redeem'",
        ledger.spender,
    )
    await db.execute(f"ALTER TABLE points_entries DISABLE TRIGGER {APPEND_ONLY}")
    try:
        await db.execute(
            "UPDATE points_entries SET points = points + 100 WHERE id = $1", entry["id"]
        )
        previous = b""
        for row in await db.fetch(
            "SELECT id FROM points_entries WHERE member_id = $1 ORDER BY seq", ledger.spender
        ):
            previous = await db.fetchval(
                "UPDATE points_entries SET prev_hash = $2, entry_hash = loyalty_entry_hash("
                " member_id, seq, entry_type, points, reference, posting_key, created_at,"
                " expires_at, actor, reason, $2) WHERE id = $1 RETURNING entry_hash",
                row["id"],
                previous,
            )
    finally:
        await db.execute(f"ALTER TABLE points_entries ENABLE TRIGGER {APPEND_ONLY}")

    report = await _verify(db)

    assert not report.kinds() & {"seq_gap", "prev_hash", "entry_hash"}
    assert {"account_ledger", "entry_movements"} <= report.kinds()


async def test_changing_an_account_balance_is_caught(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    await db.execute(
        "UPDATE points_accounts SET available = available + 7 WHERE member_id = $1",
        ledger.saver,
    )

    report = await _verify(db)

    assert {(m.kind, str(m.member_id)) for m in report.mismatches} == {
        ("account_ledger", ledger.saver),
        ("account_lots", ledger.saver),
    }


async def test_giving_an_idle_member_points_out_of_thin_air_is_caught(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    await db.execute("UPDATE points_accounts SET pending = 40 WHERE member_id = $1", ledger.idle)

    report = await _verify(db)

    assert {(m.kind, str(m.member_id)) for m in report.mismatches} == {
        ("account_pending", ledger.idle)
    }


async def test_changing_a_lots_remaining_is_caught(ledger: Ledger, db: asyncpg.Connection) -> None:
    lot = await db.fetchrow(
        "SELECT id FROM points_lots WHERE member_id = $1 AND remaining > 10 ORDER BY id LIMIT 1",
        ledger.spender,
    )
    await db.execute("UPDATE points_lots SET remaining = remaining - 10 WHERE id = $1", lot["id"])

    report = await _verify(db)

    assert {(m.kind, m.lot_id) for m in report.mismatches} == {
        ("lot_remaining", lot["id"]),
        ("account_lots", None),
    }


async def test_moving_points_between_lots_to_change_their_expiry_is_caught(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    # Both lots stay self-consistent and the totals are unchanged, but 5 points now sit in a
    # lot with another expiry.
    source = await db.fetchval(
        "SELECT id FROM points_lots WHERE member_id = $1 AND remaining > 5 ORDER BY id LIMIT 1",
        ledger.spender,
    )
    target = await db.fetchval(
        "SELECT id FROM points_lots WHERE member_id = $1 AND id <> $2 ORDER BY id LIMIT 1",
        ledger.spender,
        source,
    )
    await db.execute(
        "UPDATE points_lots SET points = points - 5, remaining = remaining - 5 WHERE id = $1",
        source,
    )
    await db.execute(
        "UPDATE points_lots SET points = points + 5, remaining = remaining + 5 WHERE id = $1",
        target,
    )

    report = await _verify(db)

    assert report.kinds() == {"credit_lots"}
    assert len(report.mismatches) == 2


async def test_a_movement_moved_to_another_members_lot_is_caught(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    saver_lot = await db.fetchval(
        "SELECT id FROM points_lots WHERE member_id = $1 ORDER BY id LIMIT 1", ledger.saver
    )
    await db.execute("ALTER TABLE points_lot_movements DISABLE TRIGGER USER")
    try:
        movement = await db.fetchrow(
            "UPDATE points_lot_movements SET lot_id = $2 WHERE id = (SELECT m.id FROM"
            " points_lot_movements m JOIN points_entries e ON e.id = m.entry_id"
            " WHERE m.member_id = $1 AND e.entry_type = 'redeem' LIMIT 1) RETURNING entry_id",
            ledger.spender,
            saver_lot,
        )
    finally:
        await db.execute("ALTER TABLE points_lot_movements ENABLE TRIGGER USER")

    report = await _verify(db)

    kinds = {(m.kind, m.entry_id) for m in report.mismatches if m.entry_id is not None}
    assert ("movement_member", movement["entry_id"]) in kinds
    assert "lot_remaining" in report.kinds()


async def test_verify_can_be_pointed_at_a_database_url(ledger: Ledger, clean_db: str) -> None:
    report = await verify_ledger_at(clean_db)

    assert report.ok
    assert report.summary().startswith("ledger verify: 3 members, ")


async def test_an_empty_database_verifies(clean_db: str) -> None:
    report = await verify_ledger_at(clean_db)

    assert (report.ok, report.members, report.entries, report.lots) == (True, 0, 0, 0)


async def test_small_cursor_batches_give_the_same_answer(
    ledger: Ledger, db: asyncpg.Connection
) -> None:
    # A tiny prefetch exercises the cursors' paging; the answer is the same.
    report = await verify_ledger(db, prefetch=1)

    assert report.ok
    assert report.entries == await db.fetchval("SELECT count(*) FROM points_entries")
