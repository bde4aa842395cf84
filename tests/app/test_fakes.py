"""The fakes must behave like the real adapters where the use cases depend on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from app.idempotency_store import StoredResponse
from domain.cards import CardStatus, MemberCard
from domain.errors import InvalidEmail, InvalidPhoneNumber
from domain.members import Member
from domain.points import Consumption, PointsAccount, Reference
from domain.program import DEFAULT_PROGRAM
from domain.repositories import AuditRecord
from domain.sales import Pricing, Sale, SaleLine
from domain.tiers import BASE_TIER
from tests.support.fakes import (
    ConstraintViolation,
    FakeContacts,
    FakeDatabase,
    FakeUnitOfWork,
    FixedClock,
    SequenceRandom,
    SequentialIds,
)

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
LATER = datetime(2025, 4, 30, 16, 0, tzinfo=UTC)
MEMBER = UUID(int=99)


def record(action: str) -> AuditRecord:
    return AuditRecord("admin:test", action, "subject", {})


async def test_the_fake_database_starts_with_the_default_programme_and_the_base_tier() -> None:
    db = FakeDatabase()
    assert await db.program.get() == DEFAULT_PROGRAM
    assert (await db.tiers.ladder()).tiers == (BASE_TIER,)


async def test_committed_writes_stay() -> None:
    db = FakeDatabase()
    async with FakeUnitOfWork(db) as uow:
        await uow.audit.record(record("kept"))
        await uow.commit()
    assert [r.action for r in db.audit.records] == ["kept"]
    assert uow.committed
    assert not uow.rolled_back


async def test_leaving_without_commit_rolls_back_to_the_start() -> None:
    db = FakeDatabase()
    await db.audit.record(record("before"))
    async with FakeUnitOfWork(db) as uow:
        await uow.audit.record(record("dropped"))
        await uow.points.open_account(MEMBER)
    assert [r.action for r in db.audit.records] == ["before"]
    assert db.points.accounts == {}
    assert uow.rolled_back


async def test_an_exception_rolls_back_too() -> None:
    db = FakeDatabase()

    async def fail_midway() -> None:
        async with FakeUnitOfWork(db) as uow:
            await uow.audit.record(record("dropped"))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await fail_midway()
    assert db.audit.records == []


async def test_a_savepoint_undoes_only_the_writes_inside_it_when_it_raises() -> None:
    db = FakeDatabase()

    async def fail_inside(uow: FakeUnitOfWork) -> None:
        async with uow.savepoint():
            await uow.audit.record(record("inside"))
            await uow.points.open_account(MEMBER)
            raise KeyError("boom")

    async with FakeUnitOfWork(db) as uow:
        await uow.audit.record(record("outside"))
        with pytest.raises(KeyError):
            await fail_inside(uow)
        await uow.audit.record(record("after"))
        await uow.commit()
    assert [r.action for r in db.audit.records] == ["outside", "after"]
    assert db.points.accounts == {}


async def test_a_savepoint_that_does_not_raise_keeps_its_writes() -> None:
    db = FakeDatabase()
    async with FakeUnitOfWork(db) as uow:
        async with uow.savepoint():
            await uow.audit.record(record("inside"))
        await uow.commit()
    assert [r.action for r in db.audit.records] == ["inside"]


async def test_points_save_appends_entries_with_increasing_ids_and_clears_them() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)
    account.earn(5, reference=Reference("sale", "2"), now=NOW)
    await db.points.save(account)
    assert account.new_entries == []
    assert [(e.id, e.points) for e in db.points.ledger] == [(1, 10), (2, 5)]
    assert (await db.points.get(MEMBER)).available == 15
    page = await db.points.entries(MEMBER, before_id=2, limit=10)
    assert [e.id for e in page] == [1]


async def test_points_save_refuses_a_posting_key_used_before() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)
    await db.points.save(account)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)
    with pytest.raises(ConstraintViolation):
        await db.points.save(account)


async def test_points_save_refuses_balances_that_break_the_check_constraints() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    with pytest.raises(ConstraintViolation):
        await db.points.save(PointsAccount(MEMBER, available=5, debt=1))
    with pytest.raises(ConstraintViolation):
        await db.points.save(PointsAccount(MEMBER, available=-1))


async def test_a_loaded_account_is_a_copy_until_it_is_saved() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)
    assert (await db.points.get(MEMBER)).available == 0
    with pytest.raises(LookupError):
        await db.points.get_for_update(UUID(int=12345))


async def test_points_save_stores_lots_and_movements_and_clears_the_accounts_lists() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW, expires_at=LATER)
    account.earn(5, reference=Reference("sale", "2"), now=NOW)
    account.redeem(12, reference=Reference("sale", "3"), now=NOW)
    await db.points.save(account)
    assert (account.new_entries, account.new_lots, account.movements) == ([], [], [])
    assert (account.changed_lots, account.released_lots) == ([], [])
    assert [lot.id for lot in account.lots] == [1, 2]  # ids assigned, as the database does
    assert [(m.lot_id, m.posting_key, m.points) for m in db.points.movements] == [
        (1, "sale:3:redeem", -10),
        (2, "sale:3:redeem", -2),
    ]
    # Only open lots come back: the spent one stays stored but is not loaded.
    loaded = await db.points.get(MEMBER)
    assert [(lot.id, lot.remaining) for lot in loaded.lots] == [(2, 3)]
    assert [(lot.id, lot.remaining) for lot in db.points.lots_of(MEMBER)] == [(1, 0), (2, 3)]


async def test_points_consumed_by_answers_what_a_redemption_took_with_its_expiry() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW, expires_at=LATER)
    account.earn(5, reference=Reference("sale", "2"), now=NOW)
    await db.points.save(account)
    account = await db.points.get_for_update(MEMBER)
    account.redeem(12, reference=Reference("sale", "3"), now=NOW)
    await db.points.save(account)
    assert await db.points.consumed_by(MEMBER, "sale:3:redeem") == [
        Consumption(LATER, 10),
        Consumption(None, 2),
    ]
    assert await db.points.consumed_by(MEMBER, "sale:1:earn") == []
    assert await db.points.consumed_by(UUID(int=1), "sale:3:redeem") == []


async def test_points_consumed_by_ignores_what_an_entry_added_to_lots() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    account = await db.points.get_for_update(MEMBER)
    account.reverse(4, reference=Reference("refund", "1"), now=NOW)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)  # pays the debt: -4 from its lot
    await db.points.save(account)
    assert [m.points for m in db.points.movements] == [-4]
    assert await db.points.consumed_by(MEMBER, "sale:1:earn") == [Consumption(None, 4)]
    assert await db.points.consumed_by(MEMBER, "refund:1:reverse") == []


async def test_points_save_refuses_balances_that_lots_and_entries_do_not_explain() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    with pytest.raises(ConstraintViolation, match="lots hold"):
        await db.points.save(PointsAccount(MEMBER, available=5))
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)
    account.new_entries.clear()  # a lot without its entry
    with pytest.raises(ConstraintViolation, match="entries sum to 0"):
        await db.points.save(account)


async def test_points_save_refuses_a_lot_that_does_not_add_up_to_its_movements() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)
    await db.points.save(account)
    # A point leaves the lot and the balance without a movement or an entry to say why.
    account.lots[0].remaining = 9
    account.available = 9
    account.changed_lots.append(account.lots[0])
    with pytest.raises(ConstraintViolation, match="does not add up to its movements"):
        await db.points.save(account)


async def test_a_refused_points_save_writes_nothing() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    before = db.snapshot()
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)
    account.available = 11
    with pytest.raises(ConstraintViolation):
        await db.points.save(account)
    assert db.snapshot() == before
    assert account.new_entries != []


async def test_points_save_refuses_a_lot_below_zero_or_above_its_points() -> None:
    db = FakeDatabase()
    await db.points.open_account(MEMBER)
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)
    account.lots[0].remaining = 11
    with pytest.raises(ConstraintViolation, match="remaining 11 of 10"):
        await db.points.save(account)


async def test_fake_sales_refuse_what_the_sales_check_constraints_refuse() -> None:
    db = FakeDatabase()
    sale = Sale(
        id=UUID(int=5),
        store_id=UUID(int=6),
        terminal_id=None,
        receipt_id="R-1",
        member_id=None,
        currency="CNY",
        occurred_at=NOW,
        recorded_at=NOW,
        lines=(SaleLine("A", 1, 1000),),
        pricing=Pricing(1000, 0, 0, 0, points_earned=10),
    )
    with pytest.raises(ConstraintViolation, match="sales_points_need_member"):
        await db.sales.add(sale)
    with pytest.raises(ConstraintViolation, match="sales_channel"):
        await db.sales.add(replace(sale, member_id=MEMBER, channel="fax"))
    assert await db.sales.add(replace(sale, member_id=MEMBER))


async def test_replacing_a_card_blocks_the_old_one_and_the_member_loads_with_the_new() -> None:
    db = FakeDatabase()
    member = Member(MEMBER, "+8613800138000", "8000000000000001", "member", NOW)
    await db.members.add(member)
    later = NOW + timedelta(days=1)
    new_card = MemberCard("8000000000000019", MEMBER, CardStatus.ACTIVE, later)
    await db.members.replace_card(MEMBER, new_card)
    assert [(c.card_number, c.status) for c in await db.members.cards_of(MEMBER)] == [
        ("8000000000000019", CardStatus.ACTIVE),
        ("8000000000000001", CardStatus.BLOCKED),
    ]
    loaded = await db.members.get(MEMBER)
    assert loaded is not None
    assert loaded.card_number == "8000000000000019"


async def test_recent_sales_of_a_member_are_newest_first_without_lines() -> None:
    db = FakeDatabase()
    for n in range(3):
        await db.sales.add(
            Sale(
                id=UUID(int=10 + n),
                store_id=UUID(int=6),
                terminal_id=None,
                receipt_id=f"R-{n}",
                member_id=MEMBER if n != 1 else UUID(int=1),
                currency="CNY",
                occurred_at=NOW + timedelta(hours=n),
                recorded_at=NOW,
                lines=(SaleLine("A", 1, 1000),),
                pricing=Pricing(1000, 0, 0, 0, 10),
            )
        )
    recent = await db.sales.recent_for_member(MEMBER, limit=5)
    assert [(s.receipt_id, s.lines) for s in recent] == [("R-2", ()), ("R-0", ())]
    assert len(await db.sales.recent_for_member(MEMBER, limit=1)) == 1


async def test_the_idempotency_store_replays_the_remembered_answer() -> None:
    db = FakeDatabase()
    first = await db.idempotency.claim("pos:t1", "k", "h1", NOW)
    assert (first.request_hash, first.replay) == ("h1", None)
    answer = StoredResponse(201, b"{}", "application/json")
    await db.idempotency.remember("pos:t1", "k", answer)
    again = await db.idempotency.claim("pos:t1", "k", "h2", NOW)
    assert (again.request_hash, again.replay) == ("h1", answer)
    other_caller = await db.idempotency.claim("pos:t2", "k", "h2", NOW)
    assert other_caller.replay is None
    assert await db.idempotency.purge_older_than(NOW + timedelta(seconds=1)) == 2
    assert db.idempotency.keys == {}


def test_fixed_clock_is_utc_and_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2025, 1, 1, 8, 0, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    assert clock.advance(minutes=5) == datetime(2025, 1, 1, 8, 5, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2025, 1, 1))


def test_sequence_random_plays_the_script_then_a_seeded_sequence() -> None:
    random = SequenceRandom([3, 7], seed=5)
    assert [random.randbelow(10), random.randbelow(10)] == [3, 7]
    rest = [random.randbelow(1000) for _ in range(5)]
    again = SequenceRandom([3, 7], seed=5)
    again.randbelow(10), again.randbelow(10)
    assert [again.randbelow(1000) for _ in range(5)] == rest
    assert len(random.token_bytes(32)) == 32
    with pytest.raises(ValueError, match="not below"):
        SequenceRandom([10]).randbelow(10)


def test_sequential_ids_count_up() -> None:
    ids = SequentialIds()
    assert [ids.new_id(), ids.new_id()] == [UUID(int=1), UUID(int=2)]


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+8613800138000", "+8613800138000"),
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+1 415-555-2671", "+14155552671"),
    ],
)
def test_fake_contacts_normalise_phones(raw: str, e164: str) -> None:
    assert FakeContacts().phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "23800138000", "+123456", "+1234567890123456", "x"])
def test_fake_contacts_reject_what_is_not_a_phone(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        FakeContacts().phone(raw)


def test_fake_contacts_lowercase_emails_and_need_an_at_sign() -> None:
    assert FakeContacts().email(" Li.Lei@Example.COM ") == "li.lei@example.com"
    with pytest.raises(InvalidEmail):
        FakeContacts().email("li.lei.example.com")
