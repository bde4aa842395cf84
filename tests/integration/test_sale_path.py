"""The sale's own statements on PostgreSQL: the buyer read under the account lock, the sale and
its lines in one statement, the points written after the entries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

import asyncpg
import pytest

from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.system import UuidGenerator
from app.use_cases.sales import LineInput, RecordSale, SaleOutcome, record_sale
from domain.points import Reference
from domain.sale_dating import SaleDating
from tests.integration.factories import T0, a_member, a_sale, a_store
from tests.support.fakes import FixedClock

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]
LINE = [LineInput("SHEET", 1, 10000)]  # 100.00: 100 points at the default rate


async def a_buyer(uow_factory: UowFactory) -> tuple[UUID, UUID]:
    store = a_store()
    member = a_member()
    async with uow_factory() as uow:
        await uow.stores.add_store(store)
        await uow.members.add(member)
        await uow.points.open_account(member.id)
        await uow.commit()
    return store.id, member.id


async def sell(
    uow_factory: UowFactory, store_id: UUID, member_id: UUID, receipt: str, **extra: int
) -> SaleOutcome:
    async with uow_factory() as uow:
        outcome = await record_sale(
            RecordSale(store_id, None, receipt, LINE, member_id=member_id, **extra),
            uow,
            clock=FixedClock(T0),
            ids=UuidGenerator(),
            dating=SaleDating(),
        )
        await uow.commit()
    return outcome


async def test_the_buyer_is_read_with_lots_standing_and_spend_since_a_date(
    uow_factory: UowFactory,
) -> None:
    store_id, member_id = await a_buyer(uow_factory)
    await sell(uow_factory, store_id, member_id, "R-1")
    await sell(uow_factory, store_id, member_id, "R-2")

    async with uow_factory() as uow:
        buyer = await uow.sales.buyer_for_update(member_id, T0 - timedelta(days=1), spending=True)
        later = await uow.sales.buyer_for_update(member_id, T0 + timedelta(days=1), spending=True)
        nobody = await uow.sales.buyer_for_update(a_member().id, T0, spending=True)

    assert buyer is not None
    assert later is not None
    assert buyer.member.id == member_id
    assert buyer.standing.tier_code == "member"
    assert buyer.qualifying_value == 20000
    assert later.qualifying_value == 0
    assert (buyer.account.available, len(buyer.account.lots)) == (200, 2)
    assert nobody is None


async def test_a_purchase_that_spends_no_points_reads_only_the_frozen_lots(
    uow_factory: UowFactory,
) -> None:
    store_id, member_id = await a_buyer(uow_factory)
    first = await sell(uow_factory, store_id, member_id, "R-1")
    await sell(uow_factory, store_id, member_id, "R-2")
    async with uow_factory() as uow:
        account = await uow.points.get_for_update(member_id)
        assert account.freeze(Reference("sale", str(first.sale_id))) == 100
        await uow.points.save(account)
        await uow.commit()

    async with uow_factory() as uow:
        earning = await uow.sales.buyer_for_update(member_id, T0, spending=False)
        spending = await uow.sales.buyer_for_update(member_id, T0, spending=True)
    assert earning is not None
    assert spending is not None
    assert [lot.frozen for lot in earning.account.lots] == [True]
    assert len(spending.account.lots) == 2
    assert earning.account.frozen == spending.account.frozen == 100

    # The frozen points are the member's but not spendable, whatever was read.
    earned = await sell(uow_factory, store_id, member_id, "R-3")
    assert earned.points is not None
    assert (earned.points.available, earned.points.pending) == (200, 0)
    paid = await sell(uow_factory, store_id, member_id, "R-4", redeem_points=100)
    assert paid.points is not None
    # 300 - 100 paid with + 99 earned on the 99.00 paid, of which 100 frozen.
    assert paid.points.available == 199


async def test_a_second_purchase_waits_for_the_first_and_reads_what_it_wrote(
    uow_factory: UowFactory,
) -> None:
    store_id, member_id = await a_buyer(uow_factory)
    first_locked = asyncio.Event()

    async def first() -> None:
        async with uow_factory() as uow:
            buyer = await uow.sales.buyer_for_update(member_id, T0, spending=False)
            assert buyer is not None
            first_locked.set()
            await asyncio.sleep(0.3)
            buyer.account.earn(500, reference=Reference("sale", "s-1"), now=T0)
            await uow.points.save(buyer.account)
            assert await uow.sales.add(a_sale(store_id, member_id=member_id))
            await uow.commit()

    async def second() -> tuple[int, int]:
        await first_locked.wait()
        async with uow_factory() as uow:
            buyer = await uow.sales.buyer_for_update(member_id, T0, spending=True)
            assert buyer is not None
            return buyer.account.available, buyer.qualifying_value

    _, (available, spent) = await asyncio.wait_for(asyncio.gather(first(), second()), timeout=5)

    # Read after the lock was granted, not from before the wait.
    assert (available, spent) == (500, 2200)


async def test_a_sale_and_its_lines_are_stored_once_per_receipt(
    uow_factory: UowFactory, db_url: str
) -> None:
    store_id, member_id = await a_buyer(uow_factory)
    sale = a_sale(store_id, member_id=member_id)
    async with uow_factory() as uow:
        assert await uow.sales.add(sale)
        assert not await uow.sales.add(a_sale(store_id, member_id=member_id))
        stored = await uow.sales.get(sale.id)
        await uow.commit()

    assert stored == sale
    connection = await asyncpg.connect(db_url)
    try:
        lines = await connection.fetch(
            "SELECT line_no, member_id FROM sale_lines ORDER BY sale_id, line_no"
        )
    finally:
        await connection.close()
    assert [(r["line_no"], r["member_id"]) for r in lines] == [
        (n, member_id) for n in range(len(sale.lines))
    ]
