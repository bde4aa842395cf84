from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import (
    AmountTooLarge,
    InvalidInput,
    PointsExceedPayable,
    RefundExceedsSale,
    SkuNotOnSale,
)
from domain.money import MAX_AMOUNT, floor_share
from domain.points import Reference
from domain.sales import (
    MAX_LINES,
    MAX_QUANTITY,
    Basket,
    Pricing,
    RefundDecision,
    RefundLine,
    Sale,
    SaleLine,
    price,
)

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def make_sale(
    lines: list[SaleLine],
    *,
    discount: int = 0,
    points_value: int = 0,
    redeemed: int | None = None,
    earned: int | None = None,
) -> Sale:
    subtotal = Basket(tuple(lines)).subtotal
    payable = subtotal - discount - points_value
    return Sale(
        id=UUID(int=1),
        store_id=UUID(int=2),
        terminal_id=None,
        receipt_id="R-1",
        member_id=UUID(int=3),
        currency="CNY",
        occurred_at=NOW,
        recorded_at=NOW,
        lines=tuple(lines),
        pricing=Pricing(
            subtotal=subtotal,
            discount_total=discount,
            points_redeemed=points_value if redeemed is None else redeemed,
            points_value=points_value,
            points_earned=payable // 100 if earned is None else earned,
        ),
    )


def refund(sale: Sale, decision: RefundDecision) -> RefundDecision:
    sale.apply_refund(decision)
    return decision


# Baskets and pricing ------------------------------------------------------------------------


def test_a_line_amount_is_quantity_times_unit_price() -> None:
    assert SaleLine("A", 3, 1999).amount == 5997


def test_the_payable_amount_is_the_subtotal_less_discounts_and_points_paid() -> None:
    pricing = Pricing(
        subtotal=10_000,
        discount_total=1_500,
        points_redeemed=200,
        points_value=200,
        points_earned=0,
    )
    assert pricing.payable == 8_300


def test_a_basket_subtotal_adds_up_all_lines() -> None:
    basket = Basket((SaleLine("A", 2, 1000), SaleLine("B", 1, 0), SaleLine("C", 3, 333)))
    assert basket.subtotal == 2999


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1])
def test_a_line_quantity_outside_1_to_the_maximum_is_rejected(quantity: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        SaleLine("A", quantity, 100)
    assert caught.value.field == "quantity"


@pytest.mark.parametrize("price", [-1, MAX_AMOUNT + 1])
def test_a_unit_price_outside_0_to_the_maximum_is_rejected(price: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        SaleLine("A", 1, price)
    assert caught.value.field == "unit_price"


def test_a_basket_needs_at_least_one_line_and_at_most_500() -> None:
    with pytest.raises(InvalidInput):
        Basket(())
    with pytest.raises(InvalidInput):
        Basket(tuple(SaleLine(f"S{i}", 1, 1) for i in range(MAX_LINES + 1)))
    assert len(Basket(tuple(SaleLine(f"S{i}", 1, 1) for i in range(MAX_LINES))).lines) == 500


def test_a_basket_whose_subtotal_exceeds_the_maximum_amount_is_too_large() -> None:
    assert Basket((SaleLine("A", 1, MAX_AMOUNT),)).subtotal == MAX_AMOUNT
    with pytest.raises(AmountTooLarge) as caught:
        Basket((SaleLine("A", 1, MAX_AMOUNT), SaleLine("B", 1, 1)))
    assert caught.value.code == "amount_too_large"


def test_a_sale_is_referred_to_by_its_id() -> None:
    sale = make_sale([SaleLine("A", 1, 100)])
    assert sale.reference == Reference("sale", str(UUID(int=1)))
    assert str(sale.reference) == "sale:00000000-0000-0000-0000-000000000001"


# Paying with points -------------------------------------------------------------------------


def test_points_paid_with_lower_what_is_left_to_pay() -> None:
    basket = Basket((SaleLine("A", 2, 10_000), SaleLine("B", 1, 5_000)))
    pricing = price(basket, discount_total=1_000, redeem_points=600, point_value=Decimal("0.5"))
    assert pricing == Pricing(
        subtotal=25_000,
        discount_total=1_000,
        points_redeemed=600,
        points_value=300,
        points_earned=0,
    )
    assert pricing.payable == 23_700


def test_points_may_pay_for_everything_left_to_pay() -> None:
    basket = Basket((SaleLine("A", 1, 1_000),))
    pricing = price(basket, discount_total=100, redeem_points=900, point_value=Decimal(1))
    assert pricing.payable == 0


def test_points_worth_more_than_is_left_to_pay_are_refused() -> None:
    basket = Basket((SaleLine("A", 1, 1_000),))
    with pytest.raises(PointsExceedPayable, match="901 points are worth 901, more than the 900"):
        price(basket, discount_total=100, redeem_points=901, point_value=Decimal(1))
    with pytest.raises(PointsExceedPayable):
        price(
            Basket((SaleLine("FREE", 1, 0),)),
            discount_total=0,
            redeem_points=1,
            point_value=Decimal(1),
        )


def test_only_the_points_that_buy_something_are_taken() -> None:
    basket = Basket((SaleLine("A", 1, 1_000),))
    pricing = price(basket, discount_total=0, redeem_points=3, point_value=Decimal("0.5"))
    assert (pricing.points_redeemed, pricing.points_value) == (2, 1)


@pytest.mark.parametrize("points", [-1, 1])
def test_negative_or_worthless_points_are_invalid(points: int) -> None:
    basket = Basket((SaleLine("A", 1, 1_000),))
    with pytest.raises(InvalidInput) as refused:
        price(basket, discount_total=0, redeem_points=points, point_value=Decimal("0.5"))
    assert refused.value.field == "redeem_points"


def test_a_basket_priced_without_points_pays_the_subtotal_less_discounts() -> None:
    pricing = price(
        Basket((SaleLine("A", 3, 333),)), discount_total=0, redeem_points=0, point_value=Decimal(1)
    )
    assert (pricing.payable, pricing.points_redeemed, pricing.points_value) == (999, 0, 0)


# Refunds by amount --------------------------------------------------------------------------


def test_a_full_refund_in_three_pieces_reverses_exactly_the_points_earned() -> None:
    sale = make_sale([SaleLine("A", 1, 10_000)], earned=100)
    pieces = [refund(sale, sale.refund_amount(a)) for a in (3333, 3333, 3334)]
    # Cumulative: floor(100 * 3333/10000) = 33, floor(100 * 6666/10000) = 66, then all 100.
    assert [p.points_reversed for p in pieces] == [33, 33, 34]
    assert [p.amount for p in pieces] == [3333, 3333, 3334]
    assert (sale.refunded_amount, sale.points_reversed) == (10_000, 100)
    assert sale.refundable_amount == 0


def test_a_partial_refund_by_amount_reverses_the_floored_share_of_points() -> None:
    sale = make_sale([SaleLine("A", 1, 25_000)], earned=250)
    decision = sale.refund_amount(9_999)
    assert decision == RefundDecision(
        amount=9_999, points_reversed=99, points_restored=0, line_quantities=()
    )


def test_deciding_a_refund_changes_nothing_until_it_is_applied() -> None:
    sale = make_sale([SaleLine("A", 2, 500)], earned=10)
    sale.refund_amount(300)
    sale.refund_lines([RefundLine("A", 1)])
    assert (sale.refunded_amount, sale.points_reversed, sale.refunded_quantities) == (0, 0, {})


def test_refunding_more_than_is_left_is_refused() -> None:
    sale = make_sale([SaleLine("A", 1, 1000)], earned=10)
    with pytest.raises(RefundExceedsSale):
        sale.refund_amount(1001)
    refund(sale, sale.refund_amount(600))
    with pytest.raises(RefundExceedsSale, match="401 requested, 400 left"):
        sale.refund_amount(401)
    assert sale.refund_amount(400).amount == 400


@pytest.mark.parametrize("amount", [0, -100])
def test_a_refund_amount_below_one_is_invalid(amount: int) -> None:
    sale = make_sale([SaleLine("A", 1, 1000)])
    with pytest.raises(InvalidInput) as caught:
        sale.refund_amount(amount)
    assert caught.value.field == "amount"


# Refunds by lines ---------------------------------------------------------------------------


def test_a_full_line_refund_gives_back_everything_paid_and_all_points() -> None:
    sale = make_sale([SaleLine("A", 2, 1000), SaleLine("B", 1, 500)], earned=25)
    decision = sale.refund_lines([RefundLine("A", 2), RefundLine("B", 1)])
    assert decision == RefundDecision(
        amount=2500, points_reversed=25, points_restored=0, line_quantities=((0, 2), (1, 1))
    )


def test_line_refunds_under_a_discount_pay_back_the_discounted_share_without_drift() -> None:
    # 3 x 10.00 with 10.00 off: each unit is worth 6.666... of what was paid.
    sale = make_sale([SaleLine("A", 3, 1000)], discount=1000, earned=20)
    pieces = [refund(sale, sale.refund_lines([RefundLine("A", 1)])) for _ in range(3)]
    assert [p.amount for p in pieces] == [666, 667, 667]
    assert [p.points_reversed for p in pieces] == [6, 7, 7]
    assert (sale.refunded_amount, sale.points_reversed) == (2000, 20)
    assert sale.refunded_quantities == {0: 3}


def test_a_partial_line_refund_returns_that_lines_share_of_the_payable_amount() -> None:
    sale = make_sale([SaleLine("A", 1, 6000), SaleLine("B", 1, 4000)], discount=1000, earned=90)
    decision = sale.refund_lines([RefundLine("B", 1)])
    # 9000 payable * 4000/10000 = 3600; points floor(90 * 3600/9000) = 36
    assert decision == RefundDecision(
        amount=3600, points_reversed=36, points_restored=0, line_quantities=((1, 1),)
    )


def test_a_sku_on_several_sale_lines_is_refunded_from_the_first_line_onwards() -> None:
    sale = make_sale([SaleLine("A", 2, 500), SaleLine("B", 1, 300), SaleLine("A", 3, 400)])
    decision = refund(sale, sale.refund_lines([RefundLine("A", 4)]))
    assert decision.line_quantities == ((0, 2), (2, 2))
    assert decision.amount == 2 * 500 + 2 * 400
    assert sale.refunded_quantities == {0: 2, 2: 2}
    last = sale.refund_lines([RefundLine("A", 1)])
    assert last.line_quantities == ((2, 1),)
    assert last.amount == 400


def test_the_same_sku_requested_twice_is_added_up() -> None:
    sale = make_sale([SaleLine("A", 2, 500), SaleLine("A", 3, 400)])
    decision = sale.refund_lines([RefundLine("A", 1), RefundLine("A", 2)])
    assert decision.line_quantities == ((0, 2), (1, 1))
    assert decision.amount == 1400


def test_refunding_more_of_a_sku_than_is_left_is_refused_and_nothing_is_taken() -> None:
    sale = make_sale([SaleLine("A", 2, 500), SaleLine("B", 1, 300), SaleLine("A", 3, 400)])
    refund(sale, sale.refund_lines([RefundLine("A", 4)]))
    with pytest.raises(RefundExceedsSale, match="2 x 'A' requested, only 1 left to refund"):
        sale.refund_lines([RefundLine("A", 2)])
    assert sale.refunded_quantities == {0: 2, 2: 2}


def test_refunding_a_sku_that_was_not_sold_is_refused_as_not_on_the_sale() -> None:
    sale = make_sale([SaleLine("A", 1, 500)])
    with pytest.raises(SkuNotOnSale, match=r"^'Z' is not on this sale$"):
        sale.refund_lines([RefundLine("Z", 1)])
    with pytest.raises(SkuNotOnSale, match=r"^'Y', 'Z' are not on this sale$"):
        sale.refund_lines([RefundLine("A", 1), RefundLine("Y", 1), RefundLine("Z", 2)])


def test_refunding_an_sku_already_refunded_says_so_rather_than_none_left() -> None:
    sale = make_sale([SaleLine("A", 1, 500)])
    sale.apply_refund(sale.refund_lines([RefundLine("A", 1)]))
    with pytest.raises(RefundExceedsSale, match="every 'A' on this sale has already been refunded"):
        sale.refund_lines([RefundLine("A", 1)])


def test_a_line_refund_needs_lines_with_positive_quantities() -> None:
    sale = make_sale([SaleLine("A", 1, 500)])
    with pytest.raises(InvalidInput):
        sale.refund_lines([])
    with pytest.raises(InvalidInput):
        sale.refund_lines([RefundLine("A", 0)])


def test_refunding_a_free_line_gives_back_no_money_and_no_points() -> None:
    sale = make_sale([SaleLine("A", 1, 1000), SaleLine("GIFT", 1, 0)], earned=10)
    gift = refund(sale, sale.refund_lines([RefundLine("GIFT", 1)]))
    assert gift == RefundDecision(
        amount=0, points_reversed=0, points_restored=0, line_quantities=((1, 1),)
    )
    rest = refund(sale, sale.refund_lines([RefundLine("A", 1)]))
    assert (rest.amount, rest.points_reversed) == (1000, 10)
    with pytest.raises(RefundExceedsSale):
        sale.refund_lines([RefundLine("GIFT", 1)])


def test_refunding_the_paid_lines_refunds_everything_even_if_a_free_line_stays() -> None:
    sale = make_sale([SaleLine("GIFT", 1, 0), SaleLine("A", 1, 1000)], earned=10)
    decision = refund(sale, sale.refund_lines([RefundLine("A", 1)]))
    assert (decision.amount, decision.points_reversed) == (1000, 10)
    free = sale.refund_lines([RefundLine("GIFT", 1)])
    assert (free.amount, free.points_reversed) == (0, 0)


def test_a_sale_of_only_free_lines_refunds_nothing() -> None:
    sale = make_sale([SaleLine("GIFT", 2, 0)], earned=0)
    decision = sale.refund_lines([RefundLine("GIFT", 2)])
    assert decision == RefundDecision(
        amount=0, points_reversed=0, points_restored=0, line_quantities=((0, 2),)
    )
    with pytest.raises(RefundExceedsSale):
        sale.refund_amount(1)


# Mixing amounts and lines -------------------------------------------------------------------


def test_a_line_refund_after_an_amount_refund_is_capped_at_what_is_left() -> None:
    sale = make_sale([SaleLine("A", 1, 6000), SaleLine("B", 1, 4000)], earned=100)
    refund(sale, sale.refund_amount(7000))
    a = refund(sale, sale.refund_lines([RefundLine("A", 1)]))
    assert (a.amount, a.points_reversed) == (3000, 30)
    b = refund(sale, sale.refund_lines([RefundLine("B", 1)]))
    assert (b.amount, b.points_reversed) == (0, 0)
    assert (sale.refunded_amount, sale.points_reversed) == (10_000, 100)


def test_an_amount_refund_after_a_line_refund_can_take_the_rest() -> None:
    sale = make_sale([SaleLine("A", 1, 6000), SaleLine("B", 1, 4000)], earned=100)
    refund(sale, sale.refund_lines([RefundLine("B", 1)]))
    with pytest.raises(RefundExceedsSale):
        sale.refund_amount(6001)
    last = refund(sale, sale.refund_amount(6000))
    assert (last.amount, last.points_reversed) == (6000, 60)
    assert (sale.refunded_amount, sale.points_reversed) == (10_000, 100)


def test_the_last_lines_after_a_partial_amount_refund_take_exactly_the_remainder() -> None:
    sale = make_sale([SaleLine("A", 3, 3333)], discount=1, earned=99)  # payable 9998
    refund(sale, sale.refund_amount(1))
    pieces = [refund(sale, sale.refund_lines([RefundLine("A", 1)])) for _ in range(3)]
    assert sum(p.amount for p in pieces) == 9997
    assert (sale.refunded_amount, sale.points_reversed) == (9998, 99)


# Refunds of sales paid with points ---------------------------------------------------------


def test_refunds_give_redeemed_points_back_pro_rata_and_exactly_all_on_a_full_refund() -> None:
    # 100.00 of which 2.00 paid with 200 points: 98.00 payable.
    sale = make_sale([SaleLine("A", 1, 10_000)], points_value=200, redeemed=200, earned=98)
    pieces = [refund(sale, sale.refund_amount(a)) for a in (3_333, 3_333, 3_134)]
    # Cumulative: floor(200 * 3333/9800) = 68, floor(200 * 6666/9800) = 136, then all 200.
    assert [p.points_restored for p in pieces] == [68, 68, 64]
    assert [p.points_reversed for p in pieces] == [33, 33, 32]
    assert (sale.points_restored, sale.points_reversed) == (200, 98)


def test_restored_points_follow_the_money_refunded_by_lines_too() -> None:
    sale = make_sale(
        [SaleLine("A", 1, 6_000), SaleLine("B", 1, 4_000)], points_value=1_000, redeemed=2_000
    )
    b = refund(sale, sale.refund_lines([RefundLine("B", 1)]))
    # 9000 payable * 4000/10000 = 3600 refunded: floor(2000 * 3600/9000) = 800 points.
    assert (b.amount, b.points_restored) == (3_600, 800)
    a = refund(sale, sale.refund_lines([RefundLine("A", 1)]))
    assert (a.amount, a.points_restored) == (5_400, 1_200)


def test_a_sale_paid_entirely_with_points_restores_them_by_the_line_value_refunded() -> None:
    # 30.00 paid with 6000 points at half a cent each: nothing payable, nothing earned.
    sale = make_sale(
        [SaleLine("A", 1, 1_000), SaleLine("B", 1, 2_000)],
        points_value=3_000,
        redeemed=6_000,
        earned=0,
    )
    assert sale.payable == 0
    a = refund(sale, sale.refund_lines([RefundLine("A", 1)]))
    assert a == RefundDecision(
        amount=0, points_reversed=0, points_restored=2_000, line_quantities=((0, 1),)
    )
    b = refund(sale, sale.refund_lines([RefundLine("B", 1)]))
    assert (b.amount, b.points_restored) == (0, 4_000)
    assert sale.points_restored == 6_000


def test_a_sale_paid_entirely_with_points_restores_them_all_though_a_free_line_stays() -> None:
    sale = make_sale(
        [SaleLine("A", 3, 1_000), SaleLine("GIFT", 1, 0)], points_value=3_000, earned=0
    )
    first = refund(sale, sale.refund_lines([RefundLine("A", 1)]))
    assert first.points_restored == 1_000
    rest = refund(sale, sale.refund_lines([RefundLine("A", 2)]))
    assert rest.points_restored == 2_000
    gift = sale.refund_lines([RefundLine("GIFT", 1)])
    assert gift.points_restored == 0


def test_refunding_part_of_a_sale_paid_entirely_with_points_by_amount_is_refused() -> None:
    sale = make_sale([SaleLine("A", 1, 1_000)], points_value=1_000, earned=0)
    with pytest.raises(RefundExceedsSale):
        sale.refund_amount(1)
    assert sale.points_restored == 0


# Properties ---------------------------------------------------------------------------------

SKUS = ["A", "B", "C", "D"]

baskets = st.lists(
    st.builds(
        SaleLine,
        sku=st.sampled_from(SKUS),
        quantity=st.integers(min_value=1, max_value=5),
        unit_price=st.one_of(st.just(0), st.integers(min_value=1, max_value=50_000)),
    ),
    min_size=1,
    max_size=6,
)


def remaining_by_sku(sale: Sale) -> Counter[str]:
    left = Counter[str]()
    for number, line in enumerate(sale.lines):
        left[line.sku] += line.quantity - sale.refunded_quantities.get(number, 0)
    return +left


def line_value(sale: Sale) -> int:
    return sum(sale.lines[n].unit_price * q for n, q in sale.refunded_quantities.items())


@settings(max_examples=200, deadline=None)
@given(baskets, st.data())
def test_any_sequence_of_partial_refunds_never_exceeds_the_sale_and_ends_exactly_at_it(
    lines: list[SaleLine], data: st.DataObject
) -> None:
    """Money, earned points and redeemed points all come back exactly, never more, no drift."""
    subtotal = sum(line.amount for line in lines)
    discount = data.draw(st.integers(min_value=0, max_value=subtotal), label="discount")
    points_value = data.draw(
        st.one_of(st.just(0), st.integers(min_value=0, max_value=subtotal - discount)),
        label="points value",
    )
    # Any point value: a point may be worth a fraction of a minor unit or several of them.
    redeemed = data.draw(
        st.integers(min_value=points_value // 4, max_value=points_value * 3 + 2)
        if points_value
        else st.just(0),
        label="points redeemed",
    )
    payable = subtotal - discount - points_value
    earned = (
        data.draw(st.integers(min_value=0, max_value=payable // 50 + 3), label="earned")
        if payable
        else 0
    )
    sale = make_sale(
        lines, discount=discount, points_value=points_value, redeemed=redeemed, earned=earned
    )
    assert sale.payable == payable
    total_amount = total_points = total_restored = 0
    only_lines = True
    for _ in range(data.draw(st.integers(min_value=0, max_value=6), label="steps")):
        if data.draw(st.booleans(), label="by amount"):
            if sale.refundable_amount < 1:
                with pytest.raises(RefundExceedsSale):
                    sale.refund_amount(1)
                continue
            amount = data.draw(st.integers(min_value=1, max_value=sale.refundable_amount))
            decision = sale.refund_amount(amount)
            assert decision.amount == amount
            only_lines = False
        else:
            left = remaining_by_sku(sale)
            if not left:
                continue
            sku = data.draw(st.sampled_from(sorted(left)))
            quantity = data.draw(st.integers(min_value=1, max_value=left[sku]))
            split = data.draw(st.integers(min_value=0, max_value=quantity - 1))
            requested = [RefundLine(sku, quantity - split)] + (
                [RefundLine(sku, split)] * (split > 0)
            )
            decision = sale.refund_lines(requested)
            assert sum(q for _, q in decision.line_quantities) == quantity
            assert all(sale.lines[n].sku == sku for n, _ in decision.line_quantities)
        assert decision.amount >= 0
        assert decision.points_reversed >= 0
        assert decision.points_restored >= 0
        sale.apply_refund(decision)
        total_amount += decision.amount
        total_points += decision.points_reversed
        total_restored += decision.points_restored
        assert total_amount == sale.refunded_amount <= payable
        assert total_points == sale.points_reversed <= earned
        assert total_restored == sale.points_restored <= redeemed
        if sale.refunded_amount < payable:
            # Points follow the cumulative money refunded, floored once: no drift.
            assert sale.points_reversed == floor_share(earned, sale.refunded_amount, payable)
            assert sale.points_restored == floor_share(redeemed, sale.refunded_amount, payable)
            if only_lines:
                assert sale.refunded_amount == floor_share(payable, line_value(sale), subtotal)
        elif payable == 0 and line_value(sale) < subtotal:
            # Paid entirely with points: the lines refunded say how many come back.
            assert sale.points_restored == floor_share(redeemed, line_value(sale), subtotal)

    # Finish, either with the money left and then the lines left, or with the lines alone.
    if data.draw(st.booleans(), label="finish by amount") and sale.refundable_amount:
        decision = refund(sale, sale.refund_amount(sale.refundable_amount))
        total_amount += decision.amount
        total_points += decision.points_reversed
        total_restored += decision.points_restored
    left = remaining_by_sku(sale)
    if left:
        decision = refund(sale, sale.refund_lines([RefundLine(s, q) for s, q in left.items()]))
        total_amount += decision.amount
        total_points += decision.points_reversed
        total_restored += decision.points_restored
    assert not remaining_by_sku(sale)
    assert sale.refundable_amount == 0
    assert total_amount == sale.refunded_amount == payable
    assert total_points == sale.points_reversed == earned
    assert total_restored == sale.points_restored == redeemed
    if payable:
        with pytest.raises(RefundExceedsSale):
            sale.refund_amount(1)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1, max_value=MAX_AMOUNT),
    st.integers(min_value=0, max_value=10**7),
    st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=12),
)
def test_refunds_by_amount_in_any_pieces_reverse_exactly_the_earned_points(
    payable: int, earned: int, weights: list[int]
) -> None:
    sale = make_sale([SaleLine("A", 1, payable)], earned=earned)
    total = sum(weights)
    cuts = sorted({floor_share(payable, sum(weights[: i + 1]), total) for i in range(len(weights))})
    previous = 0
    reversed_total = 0
    for cut in cuts:
        if cut == previous:
            continue
        reversed_total += refund(sale, sale.refund_amount(cut - previous)).points_reversed
        previous = cut
    assert previous == payable
    assert sale.refunded_amount == payable
    assert reversed_total == sale.points_reversed == earned
