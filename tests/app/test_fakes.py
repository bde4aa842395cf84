"""The fakes must behave like the real adapters where the use cases depend on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import InvalidEmail, InvalidPhoneNumber
from domain.members import Member
from domain.points import Reference
from domain.program import DEFAULT_PROGRAM
from domain.repositories import AuditRecord
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
A_MEMBER = Member(MEMBER, "+8613800138000", "8000000000000001", "member", NOW)


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
        await uow.members.add(A_MEMBER)
    assert [r.action for r in db.audit.records] == ["before"]
    assert db.members.members == {}
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
            await uow.members.add(A_MEMBER)
            raise KeyError("boom")

    async with FakeUnitOfWork(db) as uow:
        await uow.audit.record(record("outside"))
        with pytest.raises(KeyError):
            await fail_inside(uow)
        await uow.audit.record(record("after"))
        await uow.commit()
    assert [r.action for r in db.audit.records] == ["outside", "after"]
    assert db.members.members == {}


async def test_a_savepoint_that_does_not_raise_keeps_its_writes() -> None:
    db = FakeDatabase()
    async with FakeUnitOfWork(db) as uow:
        async with uow.savepoint():
            await uow.audit.record(record("inside"))
        await uow.commit()
    assert [r.action for r in db.audit.records] == ["inside"]


async def test_a_refused_points_save_writes_nothing() -> None:
    db = FakeDatabase()
    await db.members.add(A_MEMBER)
    await db.points.open_account(MEMBER)
    before = db.snapshot()
    account = await db.points.get_for_update(MEMBER)
    account.earn(10, reference=Reference("sale", "1"), now=NOW)
    account.debt = 1  # beside available points: the CHECK refuses
    with pytest.raises(ConstraintViolation):
        await db.points.save(account)
    assert db.snapshot() == before
    assert account.new_entries != []


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
