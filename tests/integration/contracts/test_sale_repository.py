"""The sale repository's contract, on the fake and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

from domain.points import Reference
from domain.repositories import RecordedRefund
from domain.sales import RefundDecision, Sale
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0, a_sale


def a_refund(
    sale: Sale, refund_id: str, *lines: tuple[int, int], amount: int = 0
) -> RecordedRefund:
    return RecordedRefund(
        id=uuid4(),
        refund_id=refund_id,
        sale_id=sale.id,
        decision=RefundDecision(amount, 0, 0, tuple(lines)),
        created_at=T0 + timedelta(days=2),
    )


async def test_a_sale_round_trips_with_its_lines(backend: Backend) -> None:
    store = await backend.store()
    member = await backend.member()
    sale = a_sale(store.id, member_id=member.id)
    async with backend.committed() as uow:
        assert await uow.sales.add(sale) is True
    async with backend.new_uow() as uow:
        assert await uow.sales.get(sale.id) == sale
        assert await uow.sales.of_member_by_receipt(member.id, "R-0001") == sale
        assert await uow.sales.any_recorded() is True


async def test_a_receipt_is_recorded_once_per_store(backend: Backend) -> None:
    store = await backend.store()
    async with backend.committed() as uow:
        assert await uow.sales.add(a_sale(store.id)) is True
    async with backend.new_uow() as uow:
        assert await uow.sales.add(a_sale(store.id)) is False


async def test_a_sale_at_a_store_that_does_not_exist_is_refused(backend: Backend) -> None:
    await backend.store()
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.sales.add(a_sale(uuid4()))


async def test_a_sale_of_a_member_who_does_not_exist_is_refused(backend: Backend) -> None:
    store = await backend.store()
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.sales.add(a_sale(store.id, member_id=uuid4()))


async def test_a_refund_id_is_applied_once_per_sale(backend: Backend) -> None:
    store = await backend.store()
    sale = a_sale(store.id)
    async with backend.committed() as uow:
        await uow.sales.add(sale)
    refunded = replace(sale, refunded_amount=1000, refunded_quantities={0: 1})
    async with backend.committed() as uow:
        assert await uow.sales.add_refund(refunded, a_refund(sale, "RF-1", (0, 1), amount=1000))
    async with backend.new_uow() as uow:
        assert await uow.sales.refund_recorded(sale.id, "RF-1") is True
        assert await uow.sales.refund_recorded(sale.id, "RF-2") is False
        assert await uow.sales.add_refund(refunded, a_refund(sale, "RF-1", (0, 1))) is False
        loaded = await uow.sales.get(sale.id)
        assert loaded is not None
        assert (loaded.refunded_amount, loaded.refunded_quantities) == (1000, {0: 1})


async def test_a_line_is_never_refunded_more_often_than_it_was_sold(backend: Backend) -> None:
    store = await backend.store()
    sale = a_sale(store.id)  # line 1 is one unit of SKU-B
    async with backend.committed() as uow:
        await uow.sales.add(sale)
    too_many = replace(sale, refunded_amount=500, refunded_quantities={1: 2})
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.sales.add_refund(too_many, a_refund(sale, "RF-1", (1, 2), amount=500))


async def test_refunds_never_return_more_than_was_paid(backend: Backend) -> None:
    store = await backend.store()
    sale = a_sale(store.id)
    async with backend.committed() as uow:
        await uow.sales.add(sale)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.sales.add_refund(
                replace(sale, refunded_amount=sale.payable + 1), a_refund(sale, "RF-1")
            )


async def test_qualifying_value_is_net_of_refunds_from_the_day_asked(backend: Backend) -> None:
    store = await backend.store()
    member = await backend.member()
    sale = a_sale(store.id, member_id=member.id)  # payable 2200
    async with backend.committed() as uow:
        await uow.sales.add(sale)
        await uow.sales.add_refund(
            replace(sale, refunded_amount=200), a_refund(sale, "RF-1", amount=200)
        )
    async with backend.new_uow() as uow:
        assert await uow.sales.qualifying_value(member.id, sale.occurred_at) == 2000
        later = sale.occurred_at + timedelta(seconds=1)
        assert await uow.sales.qualifying_value(member.id, later) == 0
        assert await uow.sales.oldest_qualifying_purchase(member.id, T0) == sale.occurred_at


async def test_a_buyer_that_is_not_a_member_is_none(backend: Backend) -> None:
    async with backend.new_uow() as uow:
        assert await uow.sales.buyer_for_update(uuid4(), T0, spending=True) is None


async def test_a_buyer_who_spends_nothing_is_read_with_only_their_frozen_lots(
    backend: Backend,
) -> None:
    member = await backend.member()
    disputed, kept = Reference("payment", "pi_1"), Reference("sale", "R-1")
    async with backend.committed() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(300, reference=disputed, now=T0)
        account.earn(200, reference=kept, now=T0)
        account.freeze(disputed)
        await uow.points.save(account)

    async with backend.new_uow() as uow:
        buyer = await uow.sales.buyer_for_update(member.id, T0, spending=False)
        assert buyer is not None
        assert [(lot.reference, lot.frozen) for lot in buyer.account.lots] == [(disputed, True)]
        assert (buyer.account.available, buyer.account.frozen) == (500, 300)

        buyer = await uow.sales.buyer_for_update(member.id, T0, spending=True)
        assert buyer is not None
        assert [lot.reference for lot in buyer.account.lots] == [disputed, kept]
        assert buyer.member.id == member.id
        assert buyer.standing.tier_code == "member"


async def test_a_sale_breaking_the_sales_checks_is_refused(backend: Backend) -> None:
    store = await backend.store()
    guest = a_sale(store.id)
    async with backend.new_uow() as uow:
        with backend.refuses():  # points earned without a member
            await uow.sales.add(replace(guest, pricing=replace(guest.pricing, points_earned=10)))
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.sales.add(replace(guest, channel="fax"))


async def test_a_members_recent_sales_come_newest_first_without_lines(backend: Backend) -> None:
    store = await backend.store()
    member, other = await backend.member(), await backend.member("+8613900139000", card=2)
    async with backend.committed() as uow:
        for n, buyer in enumerate([member, other, member]):
            sale = a_sale(store.id, receipt_id=f"R-{n}", member_id=buyer.id)
            await uow.sales.add(replace(sale, occurred_at=sale.occurred_at + timedelta(hours=n)))
    async with backend.new_uow() as uow:
        recent = await uow.sales.recent_for_member(member.id, limit=5)
        assert [(s.receipt_id, s.lines) for s in recent] == [("R-2", ()), ("R-0", ())]
        assert len(await uow.sales.recent_for_member(member.id, limit=1)) == 1
