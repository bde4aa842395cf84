from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from app.read_models import Expiring, UnitOfWorkMemberReads
from app.transactions import read
from app.use_cases.me import LedgerPage, MyAccount, my_account, my_ledger
from app.use_cases.views import Balances, TierView
from domain.errors import MemberNotFound
from domain.points import EntryType, Reference
from tests.support.fakes import FakeWorld, enrol


async def earn(world: FakeWorld, member: UUID, *points: int) -> None:
    for p in points:
        account = await world.db.points.get_for_update(member)
        sale_id = f"s{len(world.db.points.ledger) + 1}"
        account.earn(p, reference=Reference("sale", sale_id), now=world.clock.now())
        await world.db.points.save(account)
        world.clock.advance(minutes=1)


async def page(world: FakeWorld, member: UUID, before: int | None, limit: int) -> LedgerPage:
    return await read(
        world.uow_factory, lambda uow: my_ledger(member, uow, before_id=before, limit=limit)
    )


async def test_my_account_shows_name_card_tier_and_balance(world: FakeWorld) -> None:
    member = await enrol(world, name="Li Lei")
    await earn(world, member, 120)
    account = await my_account(member, UnitOfWorkMemberReads(world.uow_factory), clock=world.clock)
    assert account == MyAccount(
        member_id=member,
        name="Li Lei",
        card_number=world.db.members.members[member].card_number,
        tier=TierView("member", "Member"),
        points=Balances(available=120, pending=0),
        expiring=[],
    )


async def test_my_account_shows_pending_points_and_what_expires_in_30_days_by_date(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    now = world.clock.now()
    end_of_day = datetime(2025, 3, 10, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    account = await world.db.points.get_for_update(member)
    for n, (points, expires_at) in enumerate(
        [
            (10, end_of_day),
            (20, end_of_day),
            (30, now + timedelta(days=30)),  # the last instant of the window
            (40, now + timedelta(days=30, seconds=1)),
            (50, None),
            (60, now),  # already due: the expiry job takes it, it is not "expiring"
        ]
    ):
        account.earn(points, reference=Reference("sale", f"s{n}"), now=now, expires_at=expires_at)
    account.earn(
        70,
        reference=Reference("sale", "web"),
        now=now,
        expires_at=end_of_day,
        pending_until=now + timedelta(days=14),
    )
    await world.db.points.save(account)

    mine = await my_account(member, UnitOfWorkMemberReads(world.uow_factory), clock=world.clock)

    assert mine.points == Balances(available=210, pending=70)
    assert mine.expiring == [
        Expiring(points=30, expires_at=end_of_day),
        Expiring(points=30, expires_at=now + timedelta(days=30)),
    ]


async def test_my_account_of_an_unknown_member_is_member_not_found(world: FakeWorld) -> None:
    with pytest.raises(MemberNotFound):
        await my_account(UUID(int=404), UnitOfWorkMemberReads(world.uow_factory), clock=world.clock)


async def test_the_ledger_is_paged_newest_first_until_the_end(world: FakeWorld) -> None:
    member = await enrol(world)
    await earn(world, member, 1, 2, 3, 4, 5)
    first = await page(world, member, None, 2)
    assert [e.points for e in first.entries] == [5, 4]
    assert first.next_before_id == first.entries[-1].id
    second = await page(world, member, first.next_before_id, 2)
    assert [e.points for e in second.entries] == [3, 2]
    third = await page(world, member, second.next_before_id, 2)
    assert [e.points for e in third.entries] == [1]
    assert third.next_before_id is None
    assert all(e.type is EntryType.EARN for e in first.entries)


async def test_a_ledger_that_fills_the_last_page_exactly_has_no_next_page(world: FakeWorld) -> None:
    member = await enrol(world)
    await earn(world, member, 1, 2, 3, 4)
    first = await page(world, member, None, 2)
    second = await page(world, member, first.next_before_id, 2)
    assert [e.points for e in second.entries] == [2, 1]
    assert second.next_before_id is None


async def test_the_ledger_shows_only_the_members_own_entries(world: FakeWorld) -> None:
    me = await enrol(world, "13800138000")
    other = await enrol(world, "13900139000")
    await earn(world, other, 70)
    await earn(world, me, 10)
    await earn(world, other, 80)
    mine = await page(world, me, None, 50)
    assert [(e.member_id, e.points) for e in mine.entries] == [(me, 10)]
    assert mine.next_before_id is None


async def test_an_empty_ledger_is_one_empty_page(world: FakeWorld) -> None:
    member = await enrol(world)
    assert await page(world, member, None, 50) == LedgerPage(entries=[], next_before_id=None)


async def test_the_ledger_of_an_unknown_member_is_member_not_found(world: FakeWorld) -> None:
    with pytest.raises(MemberNotFound):
        await page(world, UUID(int=404), None, 50)
