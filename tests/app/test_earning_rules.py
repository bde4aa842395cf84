"""Earning rules' use cases on the fakes: the admin's lifecycle, audited, and what sales earn."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from app.transactions import read, write
from app.use_cases.earning_rules import (
    RuleDefinition,
    ScheduleRule,
    SetRuleStatus,
    SimulateRule,
    create_rule,
    revise_rule,
    schedule_rule,
    set_rule_status,
    simulate_rule,
)
from app.use_cases.sales import (
    LineInput,
    PriceSale,
    RecordSale,
    RefundSale,
    quote_sale,
    record_sale,
    refund_sale,
)
from domain.earning_rules import (
    Conditions,
    EarningRule,
    Effect,
    EffectKind,
    LimitCut,
    Limits,
    RuleStatus,
)
from domain.errors import EarningRuleChanged, EarningRuleEnded, EarningRuleNotFound, InvalidInput
from domain.sale_dating import SaleDating
from domain.sales import RefundLine
from tests.support.fakes import STORE, TERMINAL, FakeWorld, enrol

LINES = (LineInput("DUVET", 2, 10_000, "bedding"), LineInput("CARD", 1, 5_000, "gift"))
DOUBLE = RuleDefinition(
    "Double bedding",
    Effect(EffectKind.MULTIPLIER, Decimal(2)),
    conditions=Conditions(categories=frozenset({"bedding"})),
)


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


async def create(world: FakeWorld, definition: RuleDefinition) -> EarningRule:
    return await write(
        world.uow_factory,
        lambda uow: create_rule(definition, "admin:a", uow, clock=world.clock, ids=world.ids),
    )


async def sell(world: FakeWorld, member: UUID, receipt: str, lines=LINES):  # type: ignore[no-untyped-def]
    return await write(
        world.uow_factory,
        lambda uow: record_sale(
            RecordSale(STORE, TERMINAL, receipt, lines, member_id=member),
            uow,
            clock=world.clock,
            ids=world.ids,
            dating=SaleDating(),
        ),
    )


async def test_every_change_saves_a_version_and_is_audited(world: FakeWorld) -> None:
    rule = await create(world, DOUBLE)
    revised = await write(
        world.uow_factory,
        lambda uow: revise_rule(
            rule.id, DOUBLE, "admin:b", uow, clock=world.clock, expected_version=1
        ),
    )
    scheduled = await write(
        world.uow_factory,
        lambda uow: schedule_rule(
            ScheduleRule(rule.id, world.clock.now(), None, "admin:b"), uow, clock=world.clock
        ),
    )
    paused = await write(
        world.uow_factory,
        lambda uow: set_rule_status(
            SetRuleStatus(rule.id, RuleStatus.PAUSED, "admin:b"), uow, clock=world.clock
        ),
    )
    ended = await write(
        world.uow_factory,
        lambda uow: set_rule_status(
            SetRuleStatus(rule.id, RuleStatus.ENDED, "admin:b"), uow, clock=world.clock
        ),
    )
    assert [r.version for r in (rule, revised, scheduled, paused, ended)] == [1, 2, 3, 4, 5]
    assert [r.action for r in world.db.audit.records] == [
        "earning_rule.created",
        "earning_rule.revised",
        "earning_rule.scheduled",
        "earning_rule.paused",
        "earning_rule.ended",
    ]
    assert len(await world.db.earning_rules.versions(rule.id)) == 5
    with pytest.raises(EarningRuleEnded):
        await write(
            world.uow_factory,
            lambda uow: revise_rule(rule.id, DOUBLE, "admin:b", uow, clock=world.clock),
        )


async def test_a_change_based_on_an_older_version_is_refused(world: FakeWorld) -> None:
    rule = await create(world, DOUBLE)
    await write(
        world.uow_factory,
        lambda uow: revise_rule(rule.id, DOUBLE, "admin:a", uow, clock=world.clock),
    )
    with pytest.raises(EarningRuleChanged):
        await write(
            world.uow_factory,
            lambda uow: revise_rule(
                rule.id, DOUBLE, "admin:b", uow, clock=world.clock, expected_version=1
            ),
        )
    with pytest.raises(EarningRuleNotFound):
        await write(
            world.uow_factory,
            lambda uow: revise_rule(UUID(int=404), DOUBLE, "admin:b", uow, clock=world.clock),
        )


async def test_a_schedule_ending_before_it_starts_is_refused_naming_ends_at(
    world: FakeWorld,
) -> None:
    rule = await create(world, DOUBLE)
    now = world.clock.now()
    with pytest.raises(InvalidInput) as refused:
        await write(
            world.uow_factory,
            lambda uow: schedule_rule(
                ScheduleRule(rule.id, now, now - timedelta(days=1), "admin:a"),
                uow,
                clock=world.clock,
            ),
        )
    assert refused.value.field == "ends_at"


async def test_the_quote_and_the_sale_earn_alike_through_the_rules(world: FakeWorld) -> None:
    await create(world, DOUBLE)
    member = await enrol(world)
    quoted = await read(
        world.uow_factory,
        lambda uow: quote_sale(
            PriceSale(STORE, LINES, member_id=member), uow, clock=world.clock, dating=SaleDating()
        ),
    )
    sold = await sell(world, member, "R-1")
    assert quoted.pricing.breakdown == sold.pricing.breakdown
    assert sold.pricing.points_earned == 250 + 200
    entry = world.db.points.ledger[-1]
    assert entry.reason == "rules: Double bedding v1"


async def test_a_per_member_day_limit_counts_the_members_earlier_sales_that_day(
    world: FakeWorld,
) -> None:
    await create(
        world,
        RuleDefinition(
            "Bonus",
            Effect(EffectKind.BONUS_PER_ORDER, Decimal(70)),
            limits=Limits(per_member_day=100),
        ),
    )
    member = await enrol(world)
    first = await sell(world, member, "R-1")
    second = await sell(world, member, "R-2")
    third = await sell(world, member, "R-3")
    got = [o.pricing.breakdown.rules[0] for o in (first, second, third)]
    assert [(r.points, r.cut_by) for r in got] == [
        (70, None),
        (30, LimitCut.PER_MEMBER_DAY),
        (0, LimitCut.PER_MEMBER_DAY),
    ]
    world.clock.advance(timedelta(days=1))
    fourth = await sell(world, member, "R-4")
    assert fourth.pricing.breakdown.rules[0].points == 70  # type: ignore[union-attr]


async def test_a_first_purchase_bonus_goes_to_the_first_sale_only(world: FakeWorld) -> None:
    await create(
        world,
        RuleDefinition(
            "Welcome",
            Effect(EffectKind.BONUS_PER_ORDER, Decimal(500)),
            conditions=Conditions(first_purchase=True),
        ),
    )
    member = await enrol(world)
    first = await sell(world, member, "R-1")
    second = await sell(world, member, "R-2")
    assert (first.pricing.points_earned, second.pricing.points_earned) == (750, 250)


async def test_refunds_reverse_rule_points_with_their_lines_and_refill_the_budget(
    world: FakeWorld,
) -> None:
    rule = await create(world, replace(DOUBLE, limits=Limits(budget=500)))
    member = await enrol(world)
    sale = await sell(world, member, "R-1")
    assert world.db.earning_rules.spent[rule.id] == 200

    async def back(refund_id: str, **kw):  # type: ignore[no-untyped-def]
        return await write(
            world.uow_factory,
            lambda uow: refund_sale(
                RefundSale(STORE, sale.sale_id, refund_id, **kw),  # type: ignore[arg-type]
                uow,
                clock=world.clock,
                ids=world.ids,
            ),
        )

    duvet = await back("F1", lines=(RefundLine("DUVET", 1),))
    assert duvet.points_reversed == 100 + 100
    assert world.db.earning_rules.spent[rule.id] == 100
    rest = await back("F2", amount=sale.pricing.payable - duvet.amount)
    assert duvet.points_reversed + rest.points_reversed == 450
    assert world.db.earning_rules.spent[rule.id] == 0
    assert sum(a.points for a in world.db.earning_rules.awards) == 0


async def test_a_simulation_reads_and_saves_nothing(world: FakeWorld) -> None:
    member = await enrol(world)
    await sell(world, member, "R-1")
    now = world.clock.now()
    result = await read(
        world.uow_factory,
        lambda uow: simulate_rule(
            SimulateRule(DOUBLE, now - timedelta(days=1), now + timedelta(days=1)),
            uow,
            ids=world.ids,
        ),
    )
    assert (result.forecast.extra_points, result.forecast.members, result.forecast.sales) == (
        200,
        1,
        1,
    )
    assert world.db.earning_rules.rules == {}


async def test_a_claimed_guest_sale_draws_on_a_rules_budget_and_a_refund_gives_it_back(
    world: FakeWorld,
) -> None:
    from app.use_cases.guest_claims import (
        ClaimWithCode,
        claim_guest_sale,
        record_sale_with_claim_code,
    )

    rule = await create(world, replace(DOUBLE, limits=Limits(budget=500)))
    member = await enrol(world)
    guest = await write(
        world.uow_factory,
        lambda uow: record_sale_with_claim_code(
            RecordSale(STORE, TERMINAL, "G-1", LINES, member_id=None),
            uow,
            clock=world.clock,
            ids=world.ids,
            dating=SaleDating(),
            random=world.random,
        ),
    )
    assert guest.claim_code is not None
    code = guest.claim_code

    claimed = await write(
        world.uow_factory,
        lambda uow: claim_guest_sale(
            ClaimWithCode(member, code), uow, clock=world.clock, ids=world.ids
        ),
    )

    # Base 250 (the gift card included) plus the doubled bedding's extra 200, as a sale's.
    assert claimed.points_earned == 450
    assert world.db.earning_rules.spent[rule.id] == 200
    assert [(a.rule_id, a.points) for a in world.db.earning_rules.awards] == [(rule.id, 200)]
    assert world.db.points.ledger[-1].reason == "rules: Double bedding v1"
    back = await write(
        world.uow_factory,
        lambda uow: refund_sale(
            RefundSale(
                STORE,
                claimed.sale_id,
                "F1",
                amount=world.db.sales.sales[claimed.sale_id].pricing.payable,
            ),
            uow,
            clock=world.clock,
            ids=world.ids,
        ),
    )
    assert back.points_reversed == 450
    assert world.db.earning_rules.spent[rule.id] == 0
