"""The Stripe payment repository's contract."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

from domain.payments import StripePayment
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0


def a_payment(member_id: object) -> StripePayment:
    return StripePayment("pi_1", member_id, "CNY", 5000, T0)  # type: ignore[arg-type]


async def test_a_payment_is_recorded_once_and_saved_with_its_refunds(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        assert await uow.payments.add(a_payment(member.id)) is True
    async with backend.committed() as uow:
        assert await uow.payments.add(a_payment(member.id)) is False
        payment = await uow.payments.get_for_update("pi_1")
        assert payment == a_payment(member.id)
        payment.refund_to(2000)
        await uow.payments.save(payment)
    async with backend.new_uow() as uow:
        loaded = await uow.payments.get_for_update("pi_1")
        assert loaded is not None
        assert loaded.amount_refunded == 2000
        assert await uow.payments.get_for_update("pi_2") is None


async def test_a_payment_refunded_beyond_what_it_received_is_refused(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        await uow.payments.add(a_payment(member.id))
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.payments.save(replace(a_payment(member.id), amount_refunded=5001))


async def test_a_payment_of_a_member_who_does_not_exist_is_refused(backend: Backend) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.payments.add(a_payment(uuid4()))
