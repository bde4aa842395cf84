"""The coupon repository's contract: codes and origins taken once, a coupon redeemed once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID, uuid4

from domain.coupon_repositories import IssuedFrom
from domain.coupons import (
    Coupon,
    CouponKind,
    CouponSource,
    CouponStatus,
    CouponTemplate,
    CouponTerms,
    Validity,
)
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0, a_sale

NOW = T0 + timedelta(days=1)
TEMPLATE = CouponTemplate(
    id=UUID(int=7),
    version=1,
    name="10 off",
    terms=CouponTerms(kind=CouponKind.FIXED, value=1000),
    validity=Validity(valid_days=30),
    created_at=T0,
)
BY_ADMIN = IssuedFrom(CouponSource.ADMIN)


def a_coupon(n: int, member_id: UUID, *, ends: int = 30) -> Coupon:
    return Coupon(
        id=UUID(int=100 + n),
        code=f"{n:015d}",
        member_id=member_id,
        template_id=TEMPLATE.id,
        template_version=1,
        title="10 off",
        terms=TEMPLATE.terms,
        valid_from=T0,
        expires_at=T0 + timedelta(days=ends),
        issued_at=T0,
    )


async def with_template(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.coupon_templates.add(TEMPLATE)


async def test_a_code_and_an_origin_with_a_ref_are_taken_once(backend: Backend) -> None:
    await with_template(backend)
    member = await backend.member()
    by_review = IssuedFrom(CouponSource.REVIEW, "review-1")
    async with backend.committed() as uow:
        first = a_coupon(1, member.id)
        assert await uow.coupons.add([first], by_review) == {first.id}
    async with backend.new_uow() as uow:
        same_code = replace(a_coupon(1, member.id), id=uuid4())
        same_origin = a_coupon(2, member.id)
        fresh = a_coupon(3, member.id)
        assert await uow.coupons.add([same_code, fresh], BY_ADMIN) == {fresh.id}
        assert await uow.coupons.add([same_origin], by_review) == set()
        assert await uow.coupons.holders(by_review, [member.id]) == {member.id}
        assert await uow.coupons.from_origin(by_review, member.id) == replace(
            a_coupon(1, member.id), source=CouponSource.REVIEW
        )
        assert await uow.coupons.per_member_counts(TEMPLATE.id, [member.id]) == {member.id: 2}
        assert set(await uow.coupons.by_codes([fresh.code, "nope"])) == {fresh.code}


async def test_a_coupon_of_a_member_or_template_that_does_not_exist_is_refused(
    backend: Backend,
) -> None:
    await with_template(backend)
    member = await backend.member()
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.coupons.add([a_coupon(1, uuid4())], BY_ADMIN)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.coupons.add([replace(a_coupon(1, member.id), template_id=uuid4())], BY_ADMIN)


async def test_a_coupon_is_redeemed_once_while_unexpired_and_restored_with_its_sale(
    backend: Backend,
) -> None:
    await with_template(backend)
    store, member = await backend.store(), await backend.member()
    sale = a_sale(store.id, member_id=member.id)
    live, over = a_coupon(1, member.id), a_coupon(2, member.id, ends=1)
    async with backend.committed() as uow:
        await uow.coupons.add([live, over], BY_ADMIN)
        await uow.sales.add(sale)
    async with backend.committed() as uow:
        assert await uow.coupons.redeem([live.id, over.id], member.id, sale.id, NOW) == 1
        assert await uow.coupons.redeem([live.id], member.id, sale.id, NOW) == 0
    async with backend.committed() as uow:
        assert await uow.coupons.void(live.id, NOW) is False
        restored = await uow.coupons.restore_for_sale(sale.id, NOW)
        assert [c.id for c in restored] == [live.id]
    async with backend.new_uow() as uow:
        loaded = await uow.coupons.get(live.id)
        assert loaded is not None
        assert (loaded.status, loaded.redeemed_sale_id) == (CouponStatus.AVAILABLE, None)
        assert await uow.coupons.void(live.id, NOW) is True
        assert [c.id for c in await uow.coupons.usable(member.id, NOW, "pos")] == []


async def test_redeemed_counts_follow_redemptions_and_the_refunds_that_undo_them(
    backend: Backend,
) -> None:
    await with_template(backend)
    store, member = await backend.store(), await backend.member()
    sale = a_sale(store.id, member_id=member.id)
    coupons = [a_coupon(n, member.id) for n in (1, 2, 3)]
    async with backend.committed() as uow:
        await uow.coupons.add(coupons, BY_ADMIN)
        await uow.sales.add(sale)
        assert await uow.coupons.redeemed_counts([TEMPLATE.id]) == {}
    async with backend.committed() as uow:
        assert await uow.coupons.redeem([c.id for c in coupons[:2]], member.id, sale.id, NOW) == 2
    async with backend.committed() as uow:
        other = uuid4()
        assert await uow.coupons.redeemed_counts([TEMPLATE.id, other]) == {TEMPLATE.id: 2}
        assert await uow.coupons.redeemed_counts([]) == {}
        await uow.coupons.restore_for_sale(sale.id, NOW)
    async with backend.new_uow() as uow:
        assert await uow.coupons.redeemed_counts([TEMPLATE.id]) == {}
