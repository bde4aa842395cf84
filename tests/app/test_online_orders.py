"""Web shop events and Stripe payments as use cases, on fakes."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from app.transactions import read, write
from app.unit_of_work import UnitOfWork
from app.use_cases.online_orders import (
    LinkCustomer,
    PayOrder,
    RefundOrder,
    complete_order,
    link_customer,
    pay_order,
    refund_order,
)
from app.use_cases.sales import LineInput
from app.use_cases.stripe_payments import (
    ChargeRefunded,
    DisputeCreated,
    PaymentSucceeded,
    charge_refunded,
    dispute_created,
    payment_succeeded,
)
from app.webhooks import APPLIED, DUPLICATE, IGNORED, Source, apply_once
from domain.errors import MemberNotFound, OrderNotFound
from domain.payments import CurrencyMismatch
from domain.sale_dating import SaleDating
from domain.webshop import CustomerNotLinked, NotOwnOrder
from tests.support.fakes import FakeWorld

PHONE = "+8613800138000"
SHEET = (LineInput("SHEET", 1, 25_000),)


async def linked(world: FakeWorld, customer_id: str = "C1") -> str:
    done = await write(
        world.uow_factory,
        lambda uow: link_customer(
            LinkCustomer(customer_id, phone=PHONE),
            uow,
            clock=world.clock,
            ids=world.ids,
            random=world.random,
            contacts=world.contacts,
        ),
    )
    return str(done.member_id)


async def paid(world: FakeWorld, order_id: str = "O1") -> None:
    await write(
        world.uow_factory,
        lambda uow: pay_order(
            PayOrder(order_id, SHEET, paid_at=world.clock.now(), customer_id="C1"),
            uow,
            clock=world.clock,
            ids=world.ids,
            dating=SaleDating(),
        ),
    )


async def balances(world: FakeWorld, member_id: str) -> tuple[int, int]:
    account = await read(world.uow_factory, lambda uow: uow.points.get(UUID(member_id)))
    return account.available, account.pending


async def test_linking_enrols_once_and_links_again_to_the_same_member() -> None:
    world = FakeWorld()

    first = await linked(world, "C1")
    second = await linked(world, "C2")

    assert first == second
    assert len(world.db.members.members) == 1
    assert sorted(world.db.shop.customers) == ["C1", "C2"]


async def test_an_order_is_a_pending_web_sale_until_it_completes() -> None:
    world = FakeWorld()
    member_id = await linked(world)
    await paid(world)
    assert await balances(world, member_id) == (0, 250)

    released = await write(
        world.uow_factory, lambda uow: complete_order("O1", uow, clock=world.clock)
    )

    assert released.points_released == 250
    assert await balances(world, member_id) == (250, 0)


async def test_an_unlinked_customer_or_unknown_order_is_refused() -> None:
    world = FakeWorld()

    with pytest.raises(CustomerNotLinked):
        await paid(world)
    with pytest.raises(OrderNotFound):
        await write(
            world.uow_factory,
            lambda uow: refund_order(
                RefundOrder("O1", "F1", amount=100), uow, clock=world.clock, ids=world.ids
            ),
        )


async def test_a_refused_event_leaves_no_trace_and_applies_when_sent_again() -> None:
    world = FakeWorld()
    member_id = await linked(world)

    async def refund(uow: UnitOfWork) -> str:
        await refund_order(
            RefundOrder("O1", "F1", amount=5_000), uow, clock=world.clock, ids=world.ids
        )
        return APPLIED

    async def deliver() -> str:
        return await apply_once(
            world.uow_factory,
            world.clock,
            source=Source.SHOP,
            event_id="evt-9",
            event_type="order.refunded",
            apply=refund,
        )

    with pytest.raises(OrderNotFound):
        await deliver()
    assert ("shop", "evt-9") not in world.db.webhook_events.events
    await paid(world)

    assert await deliver() == APPLIED
    assert await deliver() == DUPLICATE
    assert await balances(world, member_id) == (0, 200)


async def test_stripe_refunds_are_cumulative_and_a_dispute_freezes_the_rest() -> None:
    world = FakeWorld()
    member_id = await linked(world)
    pi = "pi_1"

    async def run(command: object) -> str:
        async def apply(uow: UnitOfWork) -> str:
            if isinstance(command, PaymentSucceeded):
                return await payment_succeeded(
                    command, uow, clock=world.clock, ids=world.ids, dating=SaleDating()
                )
            if isinstance(command, ChargeRefunded):
                return await charge_refunded(command, uow, clock=world.clock, ids=world.ids)
            assert isinstance(command, DisputeCreated)
            return await dispute_created(command, uow, clock=world.clock)

        return await write(world.uow_factory, apply)

    created = world.clock.now() - timedelta(minutes=1)
    assert await run(PaymentSucceeded(pi, member_id, "cny", 25_000, created)) == APPLIED
    assert await run(ChargeRefunded(pi, "ch_1", "cny", 5_000)) == APPLIED
    assert await run(ChargeRefunded(pi, "ch_1", "cny", 5_000)) == IGNORED
    assert await run(ChargeRefunded(pi, "ch_1", "cny", 15_000)) == APPLIED
    assert await balances(world, member_id) == (0, 100)
    assert await run(DisputeCreated(pi, "dp_1")) == APPLIED
    lots = world.db.points.lots_of(UUID(member_id), only_open=True)
    assert [(lot.remaining, lot.pending, lot.frozen) for lot in lots] == [(100, True, True)]


async def test_a_stripe_payment_in_another_currency_or_for_nobody_is_refused() -> None:
    world = FakeWorld()
    member_id = await linked(world)
    now = world.clock.now()

    with pytest.raises(CurrencyMismatch):
        await write(
            world.uow_factory,
            lambda uow: payment_succeeded(
                PaymentSucceeded("pi_1", member_id, "usd", 100, now),
                uow,
                clock=world.clock,
                ids=world.ids,
                dating=SaleDating(),
            ),
        )
    with pytest.raises(MemberNotFound):
        await write(
            world.uow_factory,
            lambda uow: payment_succeeded(
                PaymentSucceeded("pi_2", "00000000-0000-0000-0000-000000000999", "cny", 100, now),
                uow,
                clock=world.clock,
                ids=world.ids,
                dating=SaleDating(),
            ),
        )


async def test_a_payment_naming_another_members_shop_order_is_refused() -> None:
    world = FakeWorld()
    await linked(world)
    await paid(world, "O1")
    other = await write(
        world.uow_factory,
        lambda uow: link_customer(
            LinkCustomer("C2", phone="+8613900139000"),
            uow,
            clock=world.clock,
            ids=world.ids,
            random=world.random,
            contacts=world.contacts,
        ),
    )

    with pytest.raises(NotOwnOrder):
        await write(
            world.uow_factory,
            lambda uow: payment_succeeded(
                PaymentSucceeded(
                    "pi_1", str(other.member_id), "cny", 25_000, world.clock.now(), "O1"
                ),
                uow,
                clock=world.clock,
                ids=world.ids,
                dating=SaleDating(),
            ),
        )
    assert world.db.payments.payments == {}
