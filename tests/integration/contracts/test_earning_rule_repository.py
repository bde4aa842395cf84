"""The earning-rule repository's contract: rules and versions, budgets, awards by period, and
the forecast, whose set-based SQL must equal the fake's reference (evaluate() sale by sale)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg
import pytest

from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.system import UuidGenerator
from app.use_cases.sales import (
    LineInput,
    RecordSale,
    RefundSale,
    record_sale,
    refund_sale,
)
from domain.crm import CrmSettings
from domain.earning_rules import (
    Award,
    Conditions,
    EarningRule,
    Effect,
    EffectKind,
    LimitCut,
    Limits,
    RuleStatus,
)
from domain.sale_dating import SaleDating
from domain.sales import RefundLine
from tests.integration.contracts.conftest import Backend
from tests.support.fakes import ConstraintViolation, FakeUnitOfWorkFactory, FixedClock

NOW = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)
RULE = EarningRule(
    id=UUID(int=77),
    name="Double bedding",
    effect=Effect(EffectKind.MULTIPLIER, Decimal(2)),
    conditions=Conditions(categories=frozenset({"bedding"})),
    limits=Limits(budget=1000),
)


async def test_a_rule_keeps_its_versions_and_an_ended_rule_is_not_live(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.earning_rules.add(RULE, "admin:a", NOW)
    ended = replace(RULE, version=2, status=RuleStatus.ENDED)
    async with backend.committed() as uow:
        assert await uow.earning_rules.live() == (RULE,)
        await uow.earning_rules.save(ended, "admin:a", NOW)
    async with backend.new_uow() as uow:
        assert await uow.earning_rules.get(RULE.id) == ended
        assert await uow.earning_rules.page(after=None, limit=5) == [ended]
        assert await uow.earning_rules.versions(RULE.id) == [RULE, ended]
        assert await uow.earning_rules.live() == ()


async def test_a_version_is_saved_once(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.earning_rules.add(RULE, "admin:a", NOW)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.earning_rules.save(RULE, "admin:a", NOW)


async def test_a_budget_gives_back_only_what_it_spent(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.earning_rules.add(RULE, "admin:a", NOW)
        await uow.earning_rules.spend({RULE.id: 300})
    async with backend.new_uow() as uow:
        assert await uow.earning_rules.budgets_spent([RULE.id], lock=True) == {RULE.id: 300}
        with backend.refuses():
            await uow.earning_rules.spend({RULE.id: -301})


async def test_earned_in_a_period_is_net_of_refunds_and_counts_from_its_start(
    backend: Backend,
) -> None:
    store = await backend.store()
    member = await backend.member()
    async with backend.committed() as uow:
        await uow.earning_rules.add(RULE, "admin:a", NOW)
        outcome = await record_sale(
            RecordSale(store.id, None, "R-1", [LineInput("A", 1, 100)], member_id=member.id),
            uow,
            clock=FixedClock(NOW),
            ids=UuidGenerator(),
            dating=SaleDating(),
        )
        assert outcome.sale_id is not None
        sale = outcome.sale_id
        await uow.earning_rules.add_awards(
            [
                Award(RULE.id, 1, sale, member.id, 50, NOW - timedelta(days=2)),
                Award(RULE.id, 1, sale, member.id, 70, NOW),
                Award(RULE.id, 1, sale, member.id, -20, NOW, refund_id=UUID(int=5)),
            ]
        )
    async with backend.new_uow() as uow:
        got = await uow.earning_rules.earned_in_periods(
            member.id,
            [
                (
                    RULE.id,
                    LimitCut.PER_MEMBER_DAY,
                    NOW - timedelta(hours=1),
                    NOW + timedelta(hours=1),
                ),
                (RULE.id, LimitCut.PER_MEMBER_WEEK, NOW - timedelta(days=6), NOW),
            ],
        )
    assert got == {(RULE.id, LimitCut.PER_MEMBER_DAY): 50, (RULE.id, LimitCut.PER_MEMBER_WEEK): 50}


DRAFTS = {
    "weekend_bedding_x2_day_cap": replace(
        RULE,
        conditions=Conditions(categories=frozenset({"bedding"}), days_of_week=frozenset({6, 7})),
        limits=Limits(per_member_day=300),
    ),
    "earn_rate_3_on_duvets_per_order_cap": replace(
        RULE,
        effect=Effect(EffectKind.EARN_RATE, Decimal("3.5")),
        conditions=Conditions(skus=frozenset({"DUVET"})),
        limits=Limits(per_order=150),
    ),
    "bonus_per_unit_with_budget": replace(
        RULE,
        effect=Effect(EffectKind.BONUS_PER_UNIT, Decimal(40)),
        conditions=Conditions(skus=frozenset({"DUVET"})),
        limits=Limits(budget=2000),
    ),
    "bonus_per_order_evening_week_cap": replace(
        RULE,
        effect=Effect(EffectKind.BONUS_PER_ORDER, Decimal(120)),
        conditions=Conditions(hours=frozenset(range(17, 24)), min_payable=8000),
        limits=Limits(per_member_week=300),
    ),
    "first_purchase_bonus": replace(
        RULE,
        effect=Effect(EffectKind.BONUS_PER_ORDER, Decimal(500)),
        conditions=Conditions(first_purchase=True),
        limits=Limits(),
    ),
    "birthday_month_x3": replace(
        RULE,
        effect=Effect(EffectKind.MULTIPLIER, Decimal(3)),
        conditions=Conditions(birthday_month=True),
        limits=Limits(),
    ),
    "duvets_x3_day_week_caps_and_budget": replace(
        RULE,
        effect=Effect(EffectKind.MULTIPLIER, Decimal(3)),
        conditions=Conditions(skus=frozenset({"DUVET"})),
        limits=Limits(per_member_day=90, per_member_week=200, budget=1200),
    ),
    "month_and_week_caps": replace(
        RULE,
        effect=Effect(EffectKind.BONUS_PER_ORDER, Decimal(70)),
        limits=Limits(per_order=60, per_member_week=150, per_member_month=400),
    ),
    "lifecycle_new_members_x2": replace(
        RULE,
        effect=Effect(EffectKind.MULTIPLIER, Decimal(2)),
        conditions=Conditions(lifecycle_stages=frozenset({"new", "prospect"})),
        limits=Limits(),
    ),
    "lifecycle_active_bonus": replace(
        RULE,
        effect=Effect(EffectKind.BONUS_PER_ORDER, Decimal(25)),
        conditions=Conditions(lifecycle_stages=frozenset({"active", "dormant"})),
        limits=Limits(),
    ),
    "no_points_on_gift_cards": replace(
        RULE,
        effect=Effect(EffectKind.EXCLUDE),
        conditions=Conditions(categories=frozenset({"gift"})),
        limits=Limits(),
    ),
}


async def _forecast(backend: Backend, draft: EarningRule) -> tuple[int, int, int, int, int, int]:
    store = await backend.store()
    members = [await backend.member(f"+861380013800{n}", card=n + 1) for n in range(3)]
    start = datetime(2026, 5, 4, tzinfo=UTC)  # members are born on 17 May (a_member)
    sales = []
    for n in range(90):
        # Bursts, then a quiet spell of three weeks: members go new, active, then dormant.
        at = start + timedelta(hours=5 * n + n % 4 + (24 * 21 if n >= 60 else 0))
        lines = [
            LineInput("DUVET", 1 + n % 3, 3_333 + 101 * n, "bedding"),
            LineInput("CARD", 1, 5_000, "gift"),
        ]
        async with backend.committed() as uow:
            outcome = await record_sale(
                RecordSale(
                    store.id,
                    None,
                    f"R-{n}",
                    lines[1:] if n % 4 == 0 else lines,
                    member_id=members[n % 3].id,
                    occurred_at=at,
                ),
                uow,
                clock=FixedClock(NOW + timedelta(days=30)),
                ids=UuidGenerator(),
                dating=SaleDating(),
            )
            assert outcome.sale_id is not None
            sales.append(outcome.sale_id)
    # Refunds the forecast nets out: by lines (some of a line, all of it) and by amount.
    refunds = {
        5: RefundSale(store.id, sales[5], "F-1", lines=[RefundLine("DUVET", 1)]),
        9: RefundSale(store.id, sales[9], "F-2", amount=1_234),
        14: RefundSale(store.id, sales[14], "F-3", lines=[RefundLine("CARD", 1)]),
        23: RefundSale(store.id, sales[23], "F-4", lines=[RefundLine("DUVET", 3)]),
        33: RefundSale(  # the whole sale
            store.id, sales[33], "F-5", lines=[RefundLine("DUVET", 1), RefundLine("CARD", 1)]
        ),
        62: RefundSale(store.id, sales[62], "F-6", lines=[RefundLine("DUVET", 1)]),
    }
    for refund in refunds.values():
        async with backend.committed() as uow:
            await refund_sale(
                refund, uow, clock=FixedClock(NOW + timedelta(days=30)), ids=UuidGenerator()
            )
    async with backend.new_uow() as uow:
        f = await uow.earning_rules.forecast(
            draft,
            start=start,
            end=NOW + timedelta(days=30),
            zone="Asia/Shanghai",
            currency_exponent=2,
            earn_rate=Decimal(1),
            point_value=Decimal("0.5"),
            crm=CrmSettings(),
        )
    return f.extra_points, f.members, f.sales, f.cost_minor, f.reversed_points, f.net_cost_minor


@pytest.mark.db
@pytest.mark.parametrize("draft", DRAFTS.values(), ids=DRAFTS.keys())
async def test_the_set_based_forecast_equals_the_domains_sale_by_sale(
    uow_factory: Callable[[], PostgresUnitOfWork], draft: EarningRule
) -> None:
    """The SQL restates evaluate() for one rule: shares, floors, each limit and several
    together, lifecycle stages from earlier sales, and refunds netted out as they reverse."""
    reference = await _forecast(
        Backend("fake", FakeUnitOfWorkFactory(), ConstraintViolation), draft
    )
    sql = await _forecast(
        Backend("postgres", uow_factory, asyncpg.IntegrityConstraintViolationError), draft
    )
    assert reference[2] > 0
    assert sql == reference
