"""Earning rules in the pure domain: conditions, effects, limits, order, roundings, refunds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.earning_rules import (
    Conditions,
    EarnContext,
    EarningRule,
    Effect,
    EffectKind,
    LimitCut,
    Limits,
    Line,
    RuleStatus,
    evaluate,
    line_payables,
    period_end,
    period_start,
    reversed_after,
)
from domain.errors import InvalidInput

ZONE = ZoneInfo("Asia/Shanghai")
# A Saturday, 10:00 in Shanghai
SATURDAY = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)


def ctx(lines, payable=None, **kw):
    lines = [Line(*line) if isinstance(line, tuple) else line for line in lines]
    if payable is None:
        payable = sum(line.amount for line in lines)
    defaults = dict(
        lines=lines,
        payable=payable,
        occurred_at=SATURDAY,
        zone=ZONE,
        currency_exponent=2,
        earn_rate=Decimal(1),
    )
    defaults.update(kw)
    return EarnContext(**defaults)


def rule(kind, value=0, name="r", **kw):
    cond = kw.pop("conditions", Conditions())
    return EarningRule(
        id=kw.pop("id", uuid4()),
        name=name,
        effect=Effect(kind, Decimal(value)),
        conditions=cond,
        **kw,
    )


BEDDING = ("duvet", 2, 20_000, "bedding")  # 2 x 100.00
GIFT = ("gift-card", 1, 5_000, "gift")


def test_no_rules_earns_exactly_the_programme_rate_times_tier():
    b = evaluate([], ctx([BEDDING, GIFT], tier_multiplier=Decimal("1.5")))
    assert b.base == 375
    assert b.total == 375
    assert b.rules == ()


def test_double_points_on_a_category_adds_the_extra_on_its_lines_only():
    r = rule(EffectKind.MULTIPLIER, 2, conditions=Conditions(categories=frozenset({"bedding"})))
    b = evaluate([r], ctx([BEDDING, GIFT]))
    assert b.base == 250
    assert b.rules[0].points == 200
    assert b.total == 450
    assert b.rules[0].lines == ((0, 200),)


def test_cumulative_multipliers_add_their_extras_and_do_not_compound():
    a = rule(EffectKind.MULTIPLIER, 2, name="a")
    c = rule(EffectKind.MULTIPLIER, 2, name="c")
    assert evaluate([a, c], ctx([BEDDING])).total == 600


def test_an_exclusive_rule_that_earns_stops_the_rules_after_it_by_priority():
    high = rule(EffectKind.MULTIPLIER, 3, name="high", priority=10, exclusive=True)
    low = rule(EffectKind.BONUS_PER_ORDER, 500, name="low", priority=1)
    b = evaluate([low, high], ctx([BEDDING]))
    assert [r.name for r in b.rules] == ["high"]
    assert b.total == 600
    # lower priority exclusive does not stop the higher one
    high2 = rule(EffectKind.MULTIPLIER, 3, name="high", priority=10)
    low2 = rule(EffectKind.BONUS_PER_ORDER, 500, name="low", priority=1, exclusive=True)
    assert evaluate([low2, high2], ctx([BEDDING])).total == 200 + 400 + 500


def test_an_exclusion_earns_nothing_in_the_base_or_any_rule_whatever_its_priority():
    ex = rule(EffectKind.EXCLUDE, conditions=Conditions(skus=frozenset({"gift-card"})), priority=-5)
    everything = rule(EffectKind.MULTIPLIER, 2, priority=5)
    b = evaluate([everything, ex], ctx([BEDDING, GIFT]))
    assert b.base == 200
    assert b.rules[0].points == 200
    assert b.excluded_lines == (1,)


def test_bonus_per_order_and_per_unit_take_no_tier_multiplier():
    order = rule(EffectKind.BONUS_PER_ORDER, 500, name="o")
    unit = rule(
        EffectKind.BONUS_PER_UNIT, 30, name="u", conditions=Conditions(skus=frozenset({"duvet"}))
    )
    b = evaluate([order, unit], ctx([BEDDING, GIFT], tier_multiplier=Decimal(2)))
    assert {r.name: r.points for r in b.rules} == {"o": 500, "u": 60}
    assert dict(b.rules[0].lines if b.rules[0].name == "o" else b.rules[1].lines) == {None: 500}


def test_an_earn_rate_rule_gives_eligible_lines_its_rate_instead():
    r = rule(EffectKind.EARN_RATE, 3, conditions=Conditions(categories=frozenset({"bedding"})))
    b = evaluate([r], ctx([BEDDING, GIFT], tier_multiplier=Decimal(2)))
    assert b.base == 500
    assert b.rules[0].points == 800


def test_each_rule_floors_once_on_its_eligible_payable():
    r = rule(EffectKind.MULTIPLIER, "1.5")
    # 0.99 + 0.99 = 1.98 units: base floor(1.98)=1, rule floor(0.99)=0
    b = evaluate([r], ctx([("a", 1, 99), ("b", 1, 99)]))
    assert b.base == 1
    assert b.rules[0].points == 0


@pytest.mark.parametrize(
    ("conditions", "kw", "applies"),
    [
        (Conditions(channels=frozenset({"web"})), {}, False),
        (Conditions(channels=frozenset({"pos"})), {}, True),
        (Conditions(days_of_week=frozenset({6, 7})), {}, True),
        (Conditions(days_of_week=frozenset({1})), {}, False),
        (Conditions(hours=frozenset({10})), {}, True),  # local hour, not UTC's 2
        (Conditions(hours=frozenset({2})), {}, False),
        (Conditions(tiers=frozenset({"gold"})), {"tier_code": "gold"}, True),
        (Conditions(tiers=frozenset({"gold"})), {"tier_code": "base"}, False),
        (Conditions(rfm_segments=frozenset({"champions"})), {"rfm_segment": "champions"}, True),
        (Conditions(rfm_segments=frozenset({"champions"})), {}, False),
        (Conditions(lifecycle_stages=frozenset({"dormant"})), {"lifecycle_stage": "dormant"}, True),
        (Conditions(min_payable=20_001), {}, False),
        (Conditions(min_payable=20_000), {}, True),
        (Conditions(first_purchase=True), {"first_purchase": True}, True),
        (Conditions(first_purchase=True), {}, False),
        (Conditions(birthday_month=True), {"birthday": date(1990, 3, 30)}, True),
        (Conditions(birthday_month=True), {"birthday": date(1990, 4, 1)}, False),
        (Conditions(birthday_month=True), {}, False),
    ],
)
def test_order_conditions_combine_and_use_the_programme_time_zone(conditions, kw, applies):
    r = rule(EffectKind.BONUS_PER_ORDER, 10, conditions=conditions)
    assert bool(evaluate([r], ctx([BEDDING], **kw)).rules) is applies


def test_store_condition_and_date_window_and_status():
    store = uuid4()
    r = rule(EffectKind.BONUS_PER_ORDER, 10, conditions=Conditions(stores=frozenset({store})))
    assert evaluate([r], ctx([BEDDING], store_id=store)).total == 210
    assert evaluate([r], ctx([BEDDING], store_id=uuid4())).total == 200
    window = rule(
        EffectKind.BONUS_PER_ORDER, 10, starts_at=SATURDAY, ends_at=datetime(2026, 3, 8, tzinfo=UTC)
    )
    assert evaluate([window], ctx([BEDDING])).rules
    assert not evaluate(
        [window], ctx([BEDDING], occurred_at=datetime(2026, 3, 8, tzinfo=UTC))
    ).rules
    paused = rule(EffectKind.BONUS_PER_ORDER, 10, status=RuleStatus.PAUSED)
    assert not evaluate([paused], ctx([BEDDING])).rules


def test_limits_cut_in_order_and_say_which_cut():
    rid = uuid4()
    r = rule(
        EffectKind.BONUS_PER_ORDER,
        500,
        id=rid,
        limits=Limits(per_order=400, per_member_day=300, budget=1000),
    )
    b = evaluate(
        [r],
        ctx(
            [BEDDING],
            earned_in_period={(rid, LimitCut.PER_MEMBER_DAY): 100},
            budget_left={rid: 150},
        ),
    )
    got = b.rules[0]
    assert (got.wanted, got.points, got.cut, got.cut_by) == (500, 150, 350, LimitCut.BUDGET)
    b = evaluate([r], ctx([BEDDING], budget_left={rid: 1000}))
    assert b.rules[0].points == 300
    assert b.rules[0].cut_by is LimitCut.PER_MEMBER_DAY


def test_an_exclusive_rule_cut_to_nothing_lets_the_next_rule_apply():
    rid = uuid4()
    top = rule(
        EffectKind.BONUS_PER_ORDER,
        500,
        id=rid,
        name="top",
        priority=9,
        exclusive=True,
        limits=Limits(budget=1000),
    )
    nxt = rule(EffectKind.BONUS_PER_ORDER, 7, name="next")
    b = evaluate([top, nxt], ctx([BEDDING], budget_left={rid: 0}))
    assert [(r.name, r.points) for r in b.rules] == [("top", 0), ("next", 7)]


def test_periods_are_local_days_iso_weeks_and_months():
    at = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # Thursday 01:00 in Shanghai
    assert period_start(LimitCut.PER_MEMBER_DAY, at, ZONE).date() == date(2026, 3, 5)
    assert period_start(LimitCut.PER_MEMBER_WEEK, at, ZONE).date() == date(2026, 3, 2)
    assert period_start(LimitCut.PER_MEMBER_MONTH, at, ZONE).date() == date(2026, 3, 1)
    assert period_end(LimitCut.PER_MEMBER_DAY, at, ZONE).date() == date(2026, 3, 6)
    assert period_end(LimitCut.PER_MEMBER_WEEK, at, ZONE).date() == date(2026, 3, 9)
    assert period_end(LimitCut.PER_MEMBER_MONTH, at, ZONE).date() == date(2026, 4, 1)
    december = datetime(2026, 12, 31, 12, tzinfo=UTC)
    assert period_end(LimitCut.PER_MEMBER_MONTH, december, ZONE).date() == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"kind": EffectKind.MULTIPLIER, "value": 1}, "effect.value"),
        ({"kind": EffectKind.EARN_RATE, "value": 0}, "effect.value"),
        ({"kind": EffectKind.BONUS_PER_ORDER, "value": "1.5"}, "effect.value"),
        ({"kind": EffectKind.EXCLUDE, "value": 0}, "conditions.skus"),
        ({"kind": EffectKind.BONUS_PER_UNIT, "value": 5}, "conditions.skus"),
    ],
)
def test_invalid_rules_name_the_field(kw, field):
    with pytest.raises(InvalidInput) as caught:
        rule(kw["kind"], kw["value"])
    assert caught.value.field == field


def test_invalid_conditions_and_limits_name_the_field():
    with pytest.raises(InvalidInput) as caught:
        Conditions(days_of_week=frozenset({8}))
    assert caught.value.field == "conditions.days_of_week"
    with pytest.raises(InvalidInput) as caught:
        Limits(budget=-1)
    assert caught.value.field == "limits.budget"
    with pytest.raises(InvalidInput) as caught:
        rule(EffectKind.BONUS_PER_ORDER, 1, starts_at=SATURDAY, ends_at=SATURDAY)
    assert caught.value.field == "ends_at"


amounts = st.lists(st.integers(0, 10**7), min_size=1, max_size=20)


@given(amounts, st.integers(0, 10**8))
def test_line_payables_add_up_to_the_payable_exactly(values, payable):
    if sum(values) == 0:
        payable = 0
    payable = min(payable, sum(values))
    shares = line_payables(values, payable)
    assert sum(shares) == payable
    assert all(s >= 0 for s in shares)


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.integers(0, 100_000)), min_size=1, max_size=8),
    st.sampled_from(["1.5", "2", "3.3333"]),
    st.integers(0, 10),
)
def test_rule_points_are_attributed_to_lines_exactly_and_reverse_exactly_on_a_full_refund(
    lines, multiplier, bonus
):
    basket = [Line(f"s{n}", q, q * p, "c") for n, (q, p) in enumerate(lines)]
    rules = [rule(EffectKind.MULTIPLIER, multiplier, name="m")]
    if bonus:
        rules.append(
            rule(
                EffectKind.BONUS_PER_UNIT,
                bonus,
                name="u",
                conditions=Conditions(categories=frozenset({"c"})),
            )
        )
    payable = sum(line.amount for line in basket)
    b = evaluate(rules, ctx(basket, payable=payable))
    quantities = [line.quantity for line in basket]
    for r in b.rules:
        assert sum(p for _, p in r.lines) == r.points
        assert (
            reversed_after(
                r.lines,
                quantities=quantities,
                refunded_quantities={},
                refunded_amount=0,
                refunded_by_amount=0,
                payable=payable,
                fully_refunded=False,
            )
            == 0
        )
        # every line refunded, by lines
        full = dict(enumerate(quantities))
        assert (
            reversed_after(
                r.lines,
                quantities=quantities,
                refunded_quantities=full,
                refunded_amount=payable,
                refunded_by_amount=0,
                payable=payable,
                fully_refunded=True,
            )
            == r.points
        )


def test_a_refund_of_one_line_reverses_that_lines_rule_points_only():
    r = rule(EffectKind.MULTIPLIER, 2, conditions=Conditions(categories=frozenset({"bedding"})))
    b = evaluate([r], ctx([BEDDING, GIFT]))
    kept = reversed_after(
        b.rules[0].lines,
        quantities=[2, 1],
        refunded_quantities={1: 1},
        refunded_amount=5_000,
        refunded_by_amount=0,
        payable=25_000,
        fully_refunded=False,
    )
    half = reversed_after(
        b.rules[0].lines,
        quantities=[2, 1],
        refunded_quantities={0: 1},
        refunded_amount=10_000,
        refunded_by_amount=0,
        payable=25_000,
        fully_refunded=False,
    )
    by_amount = reversed_after(
        b.rules[0].lines,
        quantities=[2, 1],
        refunded_quantities={},
        refunded_amount=12_500,
        refunded_by_amount=12_500,
        payable=25_000,
        fully_refunded=False,
    )
    assert (kept, half, by_amount) == (0, 100, 100)


def test_the_breakdown_names_rules_and_versions_for_the_ledger():
    r = EarningRule(
        id=UUID(int=1),
        name="Double bedding",
        effect=Effect(EffectKind.MULTIPLIER, Decimal(2)),
        version=3,
    )
    assert evaluate([r], ctx([BEDDING])).label() == "rules: Double bedding v3"
    assert evaluate([], ctx([BEDDING])).label() is None
