"""The web shop repository's contract: customers linked once, reviews posted once."""

from __future__ import annotations

from uuid import uuid4

from domain.webshop import ShopReview
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0, a_sale


async def test_a_customer_is_linked_to_the_first_member_only(backend: Backend) -> None:
    first, second = await backend.member(), await backend.member("+8613900139000", card=2)
    async with backend.committed() as uow:
        assert await uow.shop.link_customer("cus-1", first.id, T0) == first.id
        assert await uow.shop.link_customer("cus-1", second.id, T0) == first.id
    async with backend.new_uow() as uow:
        assert await uow.shop.member_for_customer("cus-1") == first.id
        assert await uow.shop.member_for_customer("cus-2") is None
        assert await uow.shop.customers_of(first.id) == ["cus-1"]
        assert await uow.shop.customers_of(second.id) == []


async def test_a_customer_of_a_member_who_does_not_exist_is_refused(backend: Backend) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.shop.link_customer("cus-1", uuid4(), T0)


async def test_a_review_is_posted_once_and_needs_its_member_and_sale(backend: Backend) -> None:
    store, member = await backend.store(), await backend.member()
    sale = a_sale(store.id, member_id=member.id)
    async with backend.committed() as uow:
        await uow.sales.add(sale)
        assert await uow.shop.sale_for_receipt(store.id, sale.receipt_id) == sale.id
        assert await uow.shop.sale_for_receipt(store.id, "R-none") is None
        assert await uow.shop.add_review(ShopReview("rv-1", member.id, sale.id, 5, T0)) is True
    async with backend.new_uow() as uow:
        assert await uow.shop.add_review(ShopReview("rv-1", member.id, sale.id, 4, T0)) is False
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.shop.add_review(ShopReview("rv-2", member.id, uuid4(), 5, T0))
