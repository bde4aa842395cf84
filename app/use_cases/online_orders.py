"""Web shop events, applied through the same sale and refund use cases as the tills.

An order is a sale of the web store (created on first use, code ``webshop``) whose receipt id
is the shop's order id: it earns pending points (released by ``order.completed`` or after the
programme's pending days), counts toward tiers, redeems points and coupons, and is refunded
pro rata, exactly like a sale at a till.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.unit_of_work import (
    Transaction,
    WithCouponTemplates,
    WithRewards,
    WithShop,
    WithStores,
)
from app.use_cases.announcements import save_announced
from app.use_cases.erased_members import hold_named_member, named_member
from app.use_cases.members import EnrolMember, enrol_member
from app.use_cases.review_rewards import ReviewOutcome, ReviewPosted, reward_review
from app.use_cases.sales import (
    LineInput,
    RecordSale,
    RefundOutcome,
    RefundSale,
    SaleOutcome,
    SalesUnit,
    record_sale,
    refund_sale,
)
from domain.contacts import ContactNormaliser
from domain.errors import (
    DuplicateReceipt,
    InvalidInput,
    MemberExists,
    OrderNotFound,
)
from domain.ports import Clock, IdGenerator, RandomSource
from domain.sale_dating import SaleDating
from domain.sales import ONLINE, RefundLine, Sale
from domain.stores import Store
from domain.webshop import (
    WEB_STORE_CODE,
    WEB_STORE_NAME,
    CustomerLinkedElsewhere,
    CustomerNotLinked,
    DuplicateReview,
    NotOwnOrder,
    OrderAlreadyPaid,
    ShopReview,
    require_rating,
)


class OnlineOrdersUnit(
    SalesUnit, WithCouponTemplates, WithRewards, WithShop, WithStores, Transaction, Protocol
):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


async def web_store(uow: OnlineOrdersUnit, *, clock: Clock, ids: IdGenerator) -> UUID:
    """The web store's id, creating the store the first time an order needs it."""
    found = await uow.stores.get_store_by_code(WEB_STORE_CODE)
    if found is not None:
        return found.id
    store = Store(id=ids.new_id(), code=WEB_STORE_CODE, name=WEB_STORE_NAME, created_at=clock.now())
    if await uow.stores.add_store(store):
        return store.id
    # A concurrent first order created it; the unique code made this insert wait for it.
    found = await uow.stores.get_store_by_code(WEB_STORE_CODE)
    if found is None:
        raise RuntimeError("the web store vanished while being created")
    return found.id


async def find_order(uow: OnlineOrdersUnit, order_id: str) -> Sale:
    """The sale recorded for a shop order; OrderNotFound if it was never paid."""
    store = await uow.stores.get_store_by_code(WEB_STORE_CODE)
    sale_id = await uow.shop.sale_for_receipt(store.id, order_id) if store else None
    sale = await uow.sales.get(sale_id) if sale_id else None
    if sale is None:
        raise OrderNotFound(f"order {order_id!r} has not been paid (no order.paid applied)")
    return sale


async def member_of(uow: OnlineOrdersUnit, customer_id: str | None, member_id: UUID | None) -> UUID:
    """The member an event names, directly or through the shop's customer id."""
    if member_id is not None:
        named_member(await uow.members.get(member_id))
        if customer_id is not None:
            linked = await uow.shop.member_for_customer(customer_id)
            if linked is not None and linked != member_id:
                raise CustomerLinkedElsewhere(
                    f"customer {customer_id!r} is linked to another member than member_id"
                )
        return member_id
    if customer_id is not None:
        linked = await uow.shop.member_for_customer(customer_id)
        if linked is None:
            raise CustomerNotLinked(f"customer {customer_id!r} is not linked to a member")
        return linked
    raise InvalidInput("give customer_id or member_id", field="customer_id")


# customer.linked ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkCustomer:
    customer_id: str
    phone: str | None = None
    email: str | None = None
    member_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class CustomerLinked:
    customer_id: str
    member_id: UUID
    enrolled: bool


async def link_customer(
    cmd: LinkCustomer,
    uow: OnlineOrdersUnit,
    *,
    clock: Clock,
    ids: IdGenerator,
    random: RandomSource,
    contacts: ContactNormaliser,
) -> CustomerLinked:
    """Links the shop's customer id to a member: the one named, the one with that phone, or a
    member enrolled now with that phone."""
    enrolled = False
    if cmd.member_id is not None:
        member_id = cmd.member_id
    elif cmd.phone:
        phone = contacts.phone(cmd.phone)
        member = await uow.members.get_by_phone(phone)
        if member is not None:
            member_id = member.id
        else:
            store_id = await web_store(uow, clock=clock, ids=ids)
            enrol = EnrolMember(phone=phone, email=cmd.email, store_id=store_id)
            try:
                async with uow.savepoint():
                    summary = await enrol_member(
                        enrol, uow, clock=clock, ids=ids, random=random, contacts=contacts
                    )
                member_id, enrolled = summary.member_id, True
            except MemberExists:
                # A till enrolled the same phone a moment ago: link to that member.
                raced = await uow.members.get_by_phone(phone)
                if raced is None:
                    raise
                member_id = raced.id
    else:
        raise InvalidInput("customer.linked needs a phone or a member_id", field="phone")
    if not enrolled:
        # The customer id names the person in the shop: it must never be linked to a member
        # after their erasure removed the links (the erasure takes this lock first too).
        await hold_named_member(uow, member_id)
    linked = await uow.shop.link_customer(cmd.customer_id, member_id, clock.now())
    if linked != member_id:
        raise CustomerLinkedElsewhere(
            f"customer {cmd.customer_id!r} is already linked to another member"
        )
    return CustomerLinked(cmd.customer_id, member_id, enrolled)


# order.paid, order.completed, order.refunded -----------------------------------------------


@dataclass(frozen=True, slots=True)
class PayOrder:
    order_id: str
    lines: Sequence[LineInput]
    paid_at: datetime
    customer_id: str | None = None
    member_id: UUID | None = None
    coupon_codes: Sequence[str] = ()
    redeem_points: int = 0


async def pay_order(
    cmd: PayOrder, uow: OnlineOrdersUnit, *, clock: Clock, ids: IdGenerator, dating: SaleDating
) -> SaleOutcome:
    """A paid order is a web sale: the member earns pending points on what they paid."""
    # Checked here first so that the refusal names the shop's own field.
    dating.check(cmd.paid_at, clock.now(), field="data.paid_at")
    member_id = await member_of(uow, cmd.customer_id, cmd.member_id)
    store_id = await web_store(uow, clock=clock, ids=ids)
    sale = RecordSale(
        store_id=store_id,
        terminal_id=None,
        receipt_id=cmd.order_id,
        lines=cmd.lines,
        member_id=member_id,
        occurred_at=cmd.paid_at,
        # Passed through unchanged: the sale use case decides what they are worth.
        coupon_codes=cmd.coupon_codes,
        redeem_points=cmd.redeem_points,
        channel=ONLINE,
    )
    try:
        return await record_sale(sale, uow, clock=clock, ids=ids, dating=dating)
    except DuplicateReceipt:
        raise OrderAlreadyPaid(f"order {cmd.order_id!r} was paid by an earlier event") from None


@dataclass(frozen=True, slots=True)
class OrderReleased:
    sale_id: UUID
    points_released: int


async def complete_order(order_id: str, uow: OnlineOrdersUnit, *, clock: Clock) -> OrderReleased:
    """The return window is over: the order's pending points become available now.

    Completing an order twice releases nothing the second time. Points of a disputed
    (frozen) payment stay pending until the dispute is closed.
    """
    sale = await find_order(uow, order_id)
    if sale.member_id is None:
        return OrderReleased(sale.id, 0)
    account = await uow.points.get_for_update(sale.member_id)
    released = 0
    now = clock.now()
    for lot in account.pending_lots_of(sale.reference):
        if lot.frozen:
            continue
        released += lot.remaining
        account.release(lot, now=now)
    await save_announced(uow, account)
    return OrderReleased(sale.id, released)


@dataclass(frozen=True, slots=True)
class RefundOrder:
    order_id: str
    refund_id: str
    amount: int | None = None
    lines: Sequence[RefundLine] = ()


async def refund_order(
    cmd: RefundOrder, uow: OnlineOrdersUnit, *, clock: Clock, ids: IdGenerator
) -> RefundOutcome:
    sale = await find_order(uow, cmd.order_id)
    return await refund_sale(
        RefundSale(
            store_id=sale.store_id,
            sale_id=sale.id,
            refund_id=cmd.refund_id,
            lines=cmd.lines,
            amount=cmd.amount,
        ),
        uow,
        clock=clock,
        ids=ids,
    )


# review.posted -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostReview:
    review_id: str
    order_id: str
    rating: int
    customer_id: str | None = None
    member_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class ReviewRecorded:
    review: ShopReview
    reward: ReviewOutcome


async def post_review(
    cmd: PostReview, uow: OnlineOrdersUnit, *, clock: Clock, random: RandomSource, ids: IdGenerator
) -> ReviewRecorded:
    """Records a review of the member's own paid order and gives the review reward, if the
    programme has one and the rating qualifies: one coupon per order, however many reviews."""
    rating = require_rating(cmd.rating)
    member_id = await member_of(uow, cmd.customer_id, cmd.member_id)
    sale = await find_order(uow, cmd.order_id)
    if sale.member_id != member_id:
        raise NotOwnOrder(f"order {cmd.order_id!r} was not paid by this member")
    review = ShopReview(cmd.review_id, member_id, sale.id, rating, clock.now())
    if not await uow.shop.add_review(review):
        raise DuplicateReview(f"review {cmd.review_id!r} was already recorded")
    reward = await reward_review(
        ReviewPosted(cmd.review_id, cmd.order_id, rating, member_id),
        uow,
        clock=clock,
        random=random,
        ids=ids,
    )
    return ReviewRecorded(review, reward)
