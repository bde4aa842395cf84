"""Property: over random draft rules, the set-based SQL forecast equals the domain's.

The reference (the fake repository's forecast) runs ``evaluate`` sale by sale in time order
with the draft alone, and nets refunds out by the domain's reversal; the PostgreSQL adapter
restates that in one statement (plus the caps in order when a rule has several). The same
sales, with points paid in part, refunds by lines and by amount, two channels, members going
new, active and dormant, are recorded on both; then 60 rules drawn from a fixed seed, each
combining conditions, effects and limits at random, must forecast the same on both: extra
points, members, sales, cost, points reversed and net cost.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg
import pytest

from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.system import UuidGenerator
from app.use_cases.sales import LineInput, RecordSale, RefundSale, record_sale, refund_sale
from domain.crm import CrmSettings
from domain.earning_rules import (
    LIFECYCLE_STAGES,
    Conditions,
    EarningRule,
    Effect,
    EffectKind,
    Limits,
)
from domain.sale_dating import SaleDating
from domain.sales import RefundLine
from tests.integration.contracts.conftest import Backend
from tests.support.fakes import ConstraintViolation, FakeUnitOfWorkFactory, FixedClock

pytestmark = pytest.mark.db

START = datetime(2026, 4, 27, tzinfo=UTC)  # a Monday; members are born on 17 May
END = START + timedelta(days=120)
NOW = END + timedelta(days=1)
SKUS = {"DUVET": "bedding", "PILLOW": "bedding", "CARD": "gift", "MUG": None}
EXAMPLES = 60


def _sales(n: int) -> list[LineInput]:
    lines = [
        LineInput("DUVET", 1 + n % 3, 3_333 + 101 * n, "bedding"),
        LineInput("CARD", 1, 5_000, "gift"),
        LineInput("PILLOW", 2 + n % 2, 1_299 + 7 * n, "bedding"),
        LineInput("MUG", 1 + n % 4, 455, None),
    ]
    return [line for k, line in enumerate(lines) if (n >> k) % 2 or k == n % 4]


async def _record(backend: Backend) -> None:
    store = await backend.store()
    members = [await backend.member(f"+861380013800{k}", card=k + 1) for k in range(3)]
    sales = []
    for n in range(84):
        # Bursts with a quiet spell of five weeks between, at every hour of the day.
        at = START + timedelta(hours=7 * n + n % 5) + timedelta(days=35 if n >= 50 else 0)
        async with backend.committed() as uow:
            outcome = await record_sale(
                RecordSale(
                    store.id,
                    None,
                    f"R-{n}",
                    _sales(n),
                    member_id=members[n % 3].id,
                    occurred_at=at,
                    channel="web" if n % 7 == 0 else "pos",
                    redeem_points=37 if n >= 30 and n % 5 == 0 else 0,
                ),
                uow,
                clock=FixedClock(at + timedelta(minutes=1)),
                ids=UuidGenerator(),
                dating=SaleDating(),
            )
        assert outcome.sale_id is not None
        sales.append((outcome.sale_id, _sales(n)))
    for n in range(0, 84, 6):
        sale_id, lines = sales[n]
        refund = (
            RefundSale(store.id, sale_id, f"F-{n}", amount=999)
            if n % 12 == 0
            else RefundSale(store.id, sale_id, f"F-{n}", lines=[RefundLine(lines[0].sku, 1)])
        )
        async with backend.committed() as uow:
            await refund_sale(refund, uow, clock=FixedClock(NOW), ids=UuidGenerator())


def _subset(rng: random.Random, values: list[str] | list[int], p: float) -> frozenset:  # type: ignore[type-arg]
    if rng.random() >= p:
        return frozenset()
    return frozenset(rng.sample(values, rng.randint(1, max(1, len(values) - 1))))


def _rule(rng: random.Random, n: int) -> EarningRule:
    kind = rng.choice(list(EffectKind))
    value = {
        EffectKind.MULTIPLIER: Decimal(rng.choice(["1.5", "2", "3.25"])),
        EffectKind.EARN_RATE: Decimal(rng.choice(["0.5", "1.5", "2.75"])),
        EffectKind.BONUS_PER_ORDER: Decimal(rng.choice([5, 50, 120])),
        EffectKind.BONUS_PER_UNIT: Decimal(rng.choice([3, 10])),
        EffectKind.EXCLUDE: Decimal(0),
    }[kind]
    skus = _subset(rng, list(SKUS), 0.4)
    categories = _subset(rng, ["bedding", "gift"], 0.3)
    if kind in (EffectKind.EXCLUDE, EffectKind.BONUS_PER_UNIT) and not (skus or categories):
        skus = frozenset({rng.choice(list(SKUS))})
    conditions = Conditions(
        skus=skus,
        categories=categories,
        channels=_subset(rng, ["pos", "web"], 0.2),
        tiers=frozenset({rng.choice(["member", "gold"])}) if rng.random() < 0.15 else frozenset(),
        lifecycle_stages=_subset(rng, sorted(LIFECYCLE_STAGES), 0.3),
        days_of_week=_subset(rng, list(range(1, 8)), 0.3),
        hours=_subset(rng, list(range(24)), 0.2),
        min_payable=rng.choice([0, 0, 4_000, 9_000]),
        first_purchase=rng.random() < 0.1,
        birthday_month=rng.random() < 0.15,
    )

    def cap(p: float, values: list[int]) -> int | None:
        return rng.choice(values) if rng.random() < p else None

    limits = Limits(
        per_order=cap(0.3, [0, 20, 75]),
        per_member_day=cap(0.3, [30, 100]),
        per_member_week=cap(0.3, [60, 250]),
        per_member_month=cap(0.3, [150, 600]),
        budget=cap(0.3, [400, 2_000]),
    )
    starts = START + timedelta(days=rng.randint(0, 40)) if rng.random() < 0.2 else None
    return EarningRule(
        id=UUID(int=1000 + n),
        name=f"Random {n}",
        effect=Effect(kind, value),
        conditions=conditions,
        limits=limits,
        starts_at=starts,
    )


async def _forecasts(backend: Backend, rules: list[EarningRule]) -> list[tuple[int, ...]]:
    out = []
    for rule in rules:
        async with backend.new_uow() as uow:
            f = await uow.earning_rules.forecast(
                rule,
                start=START,
                end=NOW,
                zone="Asia/Shanghai",
                currency_exponent=2,
                earn_rate=Decimal("1.25"),
                point_value=Decimal("0.5"),
                crm=CrmSettings(new_days=10, dormant_days=20, churned_days=60),
            )
        out.append(
            (f.extra_points, f.members, f.sales, f.cost_minor, f.reversed_points, f.net_cost_minor)
        )
    return out


async def test_random_rules_forecast_the_same_in_sql_as_evaluate_sale_by_sale(
    uow_factory: Callable[[], PostgresUnitOfWork],
) -> None:
    rng = random.Random(19)
    rules = [_rule(rng, n) for n in range(EXAMPLES)]
    fake = Backend("fake", FakeUnitOfWorkFactory(), ConstraintViolation)
    postgres = Backend("postgres", uow_factory, asyncpg.IntegrityConstraintViolationError)
    await _record(fake)
    await _record(postgres)

    reference = await _forecasts(fake, rules)
    sql = await _forecasts(postgres, rules)

    for rule, want, got in zip(rules, reference, sql, strict=True):
        assert got == want, rule
    # The draw reaches what it should: rules that give points, refunds that take some back,
    # rules cut to nothing.
    assert sum(1 for r in reference if r[0] > 0) >= EXAMPLES // 4
    assert sum(1 for r in reference if r[4] != 0) >= 5
    assert sum(1 for r in reference if r[2] == 0) >= 3
