"""The points repository's contract: balances, lots, entries and movements, as stored.

What ``loyalty ledger verify`` reconciles (balances against lots and entries, lots against
their movements) is not refused on save by PostgreSQL either: it is the domain's invariant
(tests/unit/test_ledger_properties.py) and the audit's job (tests/integration/
test_ledger_verify.py), not a constraint a fake restates.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.points import Consumption, PointsAccount, Reference
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0

LATER = T0 + timedelta(days=60)


async def test_an_account_is_opened_once_and_only_for_a_member(backend: Backend) -> None:
    member = await backend.member()
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.points.open_account(member.id)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.points.open_account(uuid4())


async def test_saved_entries_come_back_newest_first_by_page(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(10, reference=Reference("sale", "1"), now=T0)
        account.earn(5, reference=Reference("sale", "2"), now=T0)
        await uow.points.save(account)
        assert account.new_entries == []
    async with backend.new_uow() as uow:
        assert (await uow.points.get(member.id)).available == 15
        page = await uow.points.entries(member.id, before_id=None, limit=10)
        assert [e.points for e in page] == [5, 10]
        older = await uow.points.entries(member.id, before_id=page[0].id, limit=10)
        assert [e.posting_key for e in older] == ["sale:1:earn"]


async def test_a_posting_key_is_used_once_per_member(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(10, reference=Reference("sale", "1"), now=T0)
        await uow.points.save(account)
    async with backend.new_uow() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(10, reference=Reference("sale", "1"), now=T0)
        with backend.refuses():
            await uow.points.save(account)


@pytest.mark.parametrize(("available", "debt"), [(-1, 0), (0, -1), (5, 1)])
async def test_balances_never_go_negative_nor_hold_debt_beside_points(
    backend: Backend, available: int, debt: int
) -> None:
    member = await backend.member()
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.points.save(PointsAccount(member.id, available=available, debt=debt))


async def test_a_lot_never_holds_more_than_its_points(backend: Backend) -> None:
    member = await backend.member()
    async with backend.new_uow() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(10, reference=Reference("sale", "1"), now=T0)
        account.lots[0].remaining = 11
        with backend.refuses():
            await uow.points.save(account)


async def test_a_loaded_account_is_a_copy_until_it_is_saved(backend: Backend) -> None:
    member = await backend.member()
    async with backend.new_uow() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(10, reference=Reference("sale", "1"), now=T0)
        assert (await uow.points.get(member.id)).available == 0


async def test_only_open_lots_are_loaded(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(10, reference=Reference("sale", "1"), now=T0, expires_at=LATER)
        account.earn(5, reference=Reference("sale", "2"), now=T0)
        account.redeem(12, reference=Reference("sale", "3"), now=T0)
        await uow.points.save(account)
        assert (account.new_lots, account.movements, account.changed_lots) == ([], [], [])
        assert all(lot.id is not None for lot in account.lots)  # ids assigned on save
    async with backend.new_uow() as uow:
        for loaded in (await uow.points.get(member.id), await uow.points.get_for_update(member.id)):
            assert [(lot.reference, lot.remaining) for lot in loaded.lots] == [
                (Reference("sale", "2"), 3)
            ]
            assert (loaded.available, loaded.pending, loaded.debt) == (3, 0, 0)


async def test_consumed_by_answers_what_an_entry_took_from_lots_with_their_expiry(
    backend: Backend,
) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(10, reference=Reference("sale", "1"), now=T0, expires_at=LATER)
        account.earn(5, reference=Reference("sale", "2"), now=T0)
        await uow.points.save(account)
    async with backend.committed() as uow:
        account = await uow.points.get_for_update(member.id)
        account.redeem(12, reference=Reference("sale", "3"), now=T0)
        await uow.points.save(account)
    async with backend.new_uow() as uow:
        assert await uow.points.consumed_by(member.id, "sale:3:redeem") == [
            Consumption(LATER, 10),
            Consumption(None, 2),
        ]
        assert await uow.points.consumed_by(member.id, "sale:1:earn") == []
        assert await uow.points.consumed_by(uuid4(), "sale:3:redeem") == []


async def test_what_an_entry_adds_to_lots_is_not_consumed(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        account = await uow.points.get_for_update(member.id)
        account.reverse(4, reference=Reference("refund", "1"), now=T0)
        account.earn(10, reference=Reference("sale", "1"), now=T0)  # pays the debt first
        await uow.points.save(account)
    async with backend.new_uow() as uow:
        assert await uow.points.consumed_by(member.id, "sale:1:earn") == [Consumption(None, 4)]
        assert await uow.points.consumed_by(member.id, "refund:1:reverse") == []
        assert (await uow.points.get(member.id)).available == 6
