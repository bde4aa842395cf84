"""Earning rules on PostgreSQL: the last points of a budget go to one sale, the ledger entry
names the rules, a refund gives the budget back, and the SQL forecast equals the live rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg
import pytest

from adapters.persistence.ledger_audit import verify_ledger_at
from adapters.persistence.repositories.earning_rules import PostgresEarningRuleRepository
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.system import UuidGenerator
from app.use_cases.earning_rules import RuleDefinition, create_rule
from app.use_cases.sales import LineInput, RecordSale, RefundSale, record_sale, refund_sale
from domain.earning_rules import Conditions, Effect, EffectKind, Limits, RuleStatus
from domain.sale_dating import SaleDating
from domain.sales import RefundLine
from tests.integration.factories import a_member, a_store
from tests.support.fakes import FixedClock, SequentialIds
from tests.support.overlap import race

pytestmark = pytest.mark.db
UowFactory = Callable[[], PostgresUnitOfWork]
NOW = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)  # a Saturday, 12:00 in Shanghai


async def _setup(uow_factory: UowFactory, members: int) -> tuple[UUID, list[UUID]]:
    store = a_store()
    ids = []
    async with uow_factory() as uow:
        await uow.stores.add_store(store)
        for n in range(members):
            member = a_member(f"+86138001380{n:02d}", card=n + 1)
            await uow.members.add(member)
            await uow.points.open_account(member.id)
            ids.append(member.id)
        await uow.commit()
    return store.id, ids


async def _rule(uow_factory: UowFactory, definition: RuleDefinition) -> UUID:
    async with uow_factory() as uow:
        rule = await create_rule(
            definition, "admin:test", uow, clock=FixedClock(NOW), ids=SequentialIds(start=9000)
        )
        await uow.commit()
    return rule.id


async def _sell(
    uow_factory: UowFactory, store: UUID, member: UUID, receipt: str, lines: list[LineInput]
) -> object:
    async with uow_factory() as uow:
        outcome = await record_sale(
            RecordSale(store, None, receipt, lines, member_id=member),
            uow,
            clock=FixedClock(NOW),
            ids=UuidGenerator(),
            dating=SaleDating(),
        )
        await uow.commit()
    return outcome


async def test_the_last_points_of_a_budget_go_to_one_sale(
    uow_factory: UowFactory, db_url: str
) -> None:
    store, members = await _setup(uow_factory, 8)
    # 500 bonus points an order, 1,200 in all: two sales get 500, one the last 200, the
    # other five none, however they interleave.
    await _rule(
        uow_factory,
        RuleDefinition(
            "Grand opening",
            Effect(EffectKind.BONUS_PER_ORDER, Decimal(500)),
            limits=Limits(budget=1200),
        ),
    )
    lines = [LineInput("DUVET", 1, 10_000)]
    outcomes, waits = await race(
        db_url,
        [_sell(uow_factory, store, m, f"R-{n}", lines) for n, m in enumerate(members)],
        gate="earning_rule_budgets",
    )
    waits.assert_overlapped("eight sales taking one rule's budget")
    rule_points = sorted(
        (o.pricing.breakdown.rule_points for o in outcomes),  # type: ignore[attr-defined]
        reverse=True,
    )
    assert rule_points == [500, 500, 200, 0, 0, 0, 0, 0]
    cuts = [
        r.cut_by.value
        for o in outcomes
        for r in o.pricing.breakdown.rules  # type: ignore[attr-defined]
        if r.cut
    ]
    assert cuts == ["budget"] * 6
    connection = await asyncpg.connect(db_url)
    try:
        spent = await connection.fetchval("SELECT spent FROM earning_rule_budgets")
        awarded = await connection.fetchval("SELECT sum(points) FROM earning_rule_awards")
        earned = await connection.fetchval(
            "SELECT sum(points) FROM points_entries WHERE entry_type = 'earn'"
        )
    finally:
        await connection.close()
    assert (spent, awarded, earned) == (1200, 1200, 8 * 100 + 1200)


async def test_a_refund_reverses_rule_points_with_their_lines_and_gives_the_budget_back(
    uow_factory: UowFactory, db_url: str
) -> None:
    store, (member,) = await _setup(uow_factory, 1)
    rule_id = await _rule(
        uow_factory,
        RuleDefinition(
            "Double bedding",
            Effect(EffectKind.MULTIPLIER, Decimal(2)),
            conditions=Conditions(categories=frozenset({"bedding"})),
            limits=Limits(budget=10_000),
        ),
    )
    outcome = await _sell(
        uow_factory,
        store,
        member,
        "R-1",
        [LineInput("DUVET", 2, 10_000, "bedding"), LineInput("CARD", 1, 5_000, "gift")],
    )
    sale_id = outcome.sale_id  # type: ignore[attr-defined]
    assert outcome.pricing.points_earned == 250 + 200  # type: ignore[attr-defined]
    connection = await asyncpg.connect(db_url)
    try:
        reason = await connection.fetchval(
            "SELECT reason FROM points_entries WHERE entry_type = 'earn'"
        )
        assert reason == "rules: Double bedding v1"
        # the gift card back: no rule points on it
        async with uow_factory() as uow:
            first = await refund_sale(
                RefundSale(store, sale_id, "F1", lines=(RefundLine("CARD", 1),)),
                uow,
                clock=FixedClock(NOW + timedelta(hours=1)),
                ids=SequentialIds(start=50_000),
            )
            await uow.commit()
        assert (first.points_reversed, first.amount) == (50, 5_000)
        # one duvet back: half the rule's points
        async with uow_factory() as uow:
            second = await refund_sale(
                RefundSale(store, sale_id, "F2", lines=(RefundLine("DUVET", 1),)),
                uow,
                clock=FixedClock(NOW + timedelta(hours=2)),
                ids=SequentialIds(start=60_000),
            )
            await uow.commit()
        assert second.points_reversed == 100 + 100
        assert await connection.fetchval("SELECT spent FROM earning_rule_budgets") == 100
        # the rest: exactly what is left
        async with uow_factory() as uow:
            third = await refund_sale(
                RefundSale(store, sale_id, "F3", amount=10_000),
                uow,
                clock=FixedClock(NOW + timedelta(hours=3)),
                ids=SequentialIds(start=70_000),
            )
            await uow.commit()
        assert first.points_reversed + second.points_reversed + third.points_reversed == 450
        assert await connection.fetchval("SELECT spent FROM earning_rule_budgets") == 0
        assert (
            await connection.fetchval(
                "SELECT sum(points) FROM earning_rule_awards WHERE rule_id = $1", rule_id
            )
            == 0
        )
        # The entry naming the rules is in the hash chain, and the chain verifies clean.
        report = await verify_ledger_at(db_url)
        assert report.ok, report.mismatches
        assert report.entries >= 4
    finally:
        await connection.close()


class _Spy(PostgresEarningRuleRepository):
    """Counts what a sale asks of the rules beyond the cached configuration."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getattribute__(self, name: str) -> object:
        if name in {"member_facts", "earned_in_periods", "budgets_spent", "spend", "add_awards"}:
            object.__getattribute__(self, "asked").append(name)
        return object.__getattribute__(self, name)


async def test_a_sale_with_no_live_rule_reads_nothing_beyond_the_cached_configuration(
    uow_factory: UowFactory,
) -> None:
    store, (member,) = await _setup(uow_factory, 1)
    await _rule(
        uow_factory,
        RuleDefinition(
            "Paused",
            Effect(EffectKind.BONUS_PER_ORDER, Decimal(5)),
            limits=Limits(budget=100, per_member_day=10),
            conditions=Conditions(first_purchase=True),
            status=RuleStatus.PAUSED,
        ),
    )
    spy = _Spy()
    async with uow_factory() as uow:
        uow.earning_rules = spy  # type: ignore[misc]
        outcome = await record_sale(
            RecordSale(store, None, "R-1", [LineInput("A", 1, 10_000)], member_id=member),
            uow,
            clock=FixedClock(NOW),
            ids=UuidGenerator(),
            dating=SaleDating(),
        )
        await uow.commit()
    assert spy.asked == []
    assert outcome.pricing.points_earned == 100


async def _history(
    uow_factory: UowFactory, store: UUID, members: list[UUID], prefix: str
) -> list[tuple[UUID, datetime, list[LineInput]]]:
    """Three weeks of sales, every fourth hour, across members, lines and categories."""
    sales = []
    start = NOW - timedelta(days=21)
    for n in range(126):
        at = start + timedelta(hours=4 * n + (n % 3))
        lines = [
            LineInput("DUVET", 1 + n % 3, 3_333 + 101 * n, "bedding"),
            LineInput("CARD", 1, 5_000, "gift"),
        ]
        if n % 5 == 0:
            lines = lines[1:]
        sales.append((members[n % len(members)], at, lines))
    return sales


async def _record(
    uow_factory: UowFactory,
    store: UUID,
    sales: list[tuple[UUID, datetime, list[LineInput]]],
    prefix: str,
) -> int:
    """Records the sales in time order; answers the rule points they earned."""
    total = 0
    for n, (member, at, lines) in enumerate(sales):
        async with uow_factory() as uow:
            outcome = await record_sale(
                RecordSale(store, None, f"{prefix}-{n}", lines, member_id=member, occurred_at=at),
                uow,
                clock=FixedClock(NOW),
                ids=UuidGenerator(),
                dating=SaleDating(),
            )
            await uow.commit()
        assert outcome.pricing.breakdown is not None
        total += outcome.pricing.breakdown.rule_points
    return total


async def test_a_rules_forecast_equals_the_extra_points_it_earns_live(
    uow_factory: UowFactory,
) -> None:
    """Double points on bedding at weekends, at most 300 extra per member per day: the SQL
    forecast over recorded sales equals what the same sales earn with the rule live, and
    equals the domain's reference (the fake's forecast, evaluate() sale by sale)."""
    store, members = await _setup(uow_factory, 3)
    sales = await _history(uow_factory, store, members, "H")
    assert await _record(uow_factory, store, sales, "H") == 0
    draft = RuleDefinition(
        "Weekend bedding x2",
        Effect(EffectKind.MULTIPLIER, Decimal(2)),
        conditions=Conditions(categories=frozenset({"bedding"}), days_of_week=frozenset({6, 7})),
        limits=Limits(per_member_day=300),
    )
    period = (NOW - timedelta(days=22), NOW)
    async with uow_factory() as uow:
        program = await uow.program.get()
        forecast = await uow.earning_rules.forecast(
            draft.rule(UUID(int=1), 1),
            start=period[0],
            end=period[1],
            zone=program.time_zone,
            currency_exponent=program.currency_exponent,
            earn_rate=program.earn_rate,
            point_value=program.point_value,
            crm=program.crm,
        )
    assert forecast.extra_points > 0
    assert forecast.members == 3
    # Live: the rule created, the same sales again (later receipts, the same times).
    await _rule(uow_factory, draft)
    live = await _record(uow_factory, store, sales, "L")
    assert live == forecast.extra_points


async def test_a_forecast_judges_the_tier_a_sale_earned_at_not_the_members_tier_now(
    uow_factory: UowFactory, clean_db: str
) -> None:
    """Sales made at the entry tier, then the member promoted to a tier earning x3: the
    forecast's tier condition and multiplier are those kept with each sale's breakdown."""
    store, members = await _setup(uow_factory, 1)
    lines = [LineInput("DUVET", 1, 10_000, "bedding")]
    for n in range(3):
        await _sell(uow_factory, store, members[0], f"T-{n}", lines)
    connection = await asyncpg.connect(clean_db)
    try:
        await connection.execute(
            "INSERT INTO tiers (code, name, rank, threshold, earn_multiplier) "
            "VALUES ('gold', 'Gold', 5, 1, 3)"
        )
        await connection.execute("UPDATE members SET tier_code = 'gold' WHERE id = $1", members[0])
    finally:
        await connection.close()

    async def forecast(tiers: frozenset[str]) -> tuple[int, int]:
        rule = RuleDefinition(
            "Double for members",
            Effect(EffectKind.MULTIPLIER, Decimal(2)),
            conditions=Conditions(tiers=tiers),
        ).rule(UUID(int=2), 1)
        async with uow_factory() as uow:
            program = await uow.program.get()
            f = await uow.earning_rules.forecast(
                rule,
                start=NOW - timedelta(days=1),
                end=NOW + timedelta(days=1),
                zone=program.time_zone,
                currency_exponent=program.currency_exponent,
                earn_rate=program.earn_rate,
                point_value=program.point_value,
                crm=program.crm,
            )
        return f.extra_points, f.sales

    # 100.00 at the entry tier's x1, doubled: 100 extra a sale (at gold's x3 it would be 300).
    assert await forecast(frozenset({"member"})) == (300, 3)
    assert await forecast(frozenset({"gold"})) == (0, 0)
