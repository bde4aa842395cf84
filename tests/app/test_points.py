"""Admin adjustments of a member's points."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

import pytest

from app.transactions import write
from app.use_cases.points import Adjustment, AdjustPoints, adjust_points
from app.use_cases.views import Balances
from domain.errors import InsufficientPoints, InvalidInput, MemberNotFound
from domain.points import EntryType, Reference
from domain.program import ExpiryKind, PointsExpiryRule
from domain.repositories import AuditRecord
from tests.support.fakes import FakeWorld, enrol

ADMIN = "admin:alice"


async def adjust(
    world: FakeWorld, member: UUID, points: int, reason: str = "goodwill"
) -> Adjustment:
    cmd = AdjustPoints(member_id=member, points=points, reason=reason, actor=ADMIN)
    return await write(
        world.uow_factory, lambda uow: adjust_points(cmd, uow, clock=world.clock, ids=world.ids)
    )


async def test_a_credit_adds_a_lot_that_expires_by_the_programme_rule_and_is_audited(
    world: FakeWorld,
) -> None:
    world.db.program.settings = replace(
        world.db.program.settings, points_expiry=PointsExpiryRule(ExpiryKind.END_OF_MONTH, 1)
    )
    member = await enrol(world)
    outcome = await adjust(world, member, 50, reason="  late delivery ")
    assert outcome == Adjustment(
        adjustment_id=outcome.adjustment_id,
        member_id=member,
        points=50,
        reason="late delivery",
        balances=Balances(50, 0),
    )
    [entry] = world.db.points.ledger
    assert (entry.type, entry.points, entry.actor, entry.reason) == (
        EntryType.ADJUST,
        50,
        ADMIN,
        "late delivery",
    )
    assert entry.reference == Reference("adjustment", str(outcome.adjustment_id))
    [lot] = world.db.points.lots_of(member)
    assert lot.expires_at == datetime(2025, 4, 30, 16, 0, tzinfo=UTC)  # end of April, Shanghai
    assert world.db.audit.records == [
        AuditRecord(
            ADMIN,
            "points.adjusted",
            f"member:{member}",
            {
                "points": 50,
                "reason": "late delivery",
                "adjustment_id": str(outcome.adjustment_id),
            },
        )
    ]


async def test_a_debit_takes_points_but_never_more_than_are_available(world: FakeWorld) -> None:
    member = await enrol(world)
    await adjust(world, member, 50)
    before = world.db.snapshot()
    with pytest.raises(InsufficientPoints):
        await adjust(world, member, -51, reason="typo")
    assert world.db.snapshot() == before
    outcome = await adjust(world, member, -50, reason="typo")
    assert outcome.balances == Balances(0, 0)
    assert [e.points for e in world.db.points.ledger] == [50, -50]


async def test_an_adjustment_without_a_reason_is_invalid_and_writes_nothing(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    before = world.db.snapshot()
    with pytest.raises(InvalidInput) as caught:
        await adjust(world, member, 5, reason="   ")
    assert caught.value.field == "reason"
    assert world.db.snapshot() == before


async def test_adjusting_an_unknown_member_is_member_not_found(world: FakeWorld) -> None:
    with pytest.raises(MemberNotFound):
        await adjust(world, UUID(int=404), 5)
    assert world.db.audit.records == []
