"""CRM use cases on fakes: segment previews, the 360 view's CRM block, follow-up calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from app.transactions import read, write
from app.use_cases.crm import preview_segment, segment_members
from app.use_cases.follow_ups import RecordCall, list_follow_ups, record_call
from app.use_cases.member_360 import member_overview
from domain.crm import (
    LifecycleSegmentSpec,
    LifecycleStage,
    RfmSegment,
    RfmSegmentSpec,
    TierSegmentSpec,
)
from domain.errors import InvalidInput
from domain.follow_ups import FollowUp, FollowUpNotFound, FollowUpStatus
from domain.sale_dating import SaleDating
from tests.app.test_sales import enrol, record, sale_cmd
from tests.support.fakes import FakeWorld


async def buyers(world: FakeWorld) -> tuple[UUID, UUID, UUID]:
    """Three members: one bought twice today, one once 100 days ago, one never."""
    often = await enrol(world, "13800138001")
    once = await enrol(world, "13800138002")
    never = await enrol(world, "13800138003")
    await record(world, sale_cmd(often, "R-1"))
    await record(world, sale_cmd(often, "R-2"))
    long_ago = world.clock.now() - timedelta(days=100)
    # Dated beyond the default 90 days: a till's history loaded with the limit raised.
    await record(world, sale_cmd(once, "R-3", occurred_at=long_ago), SaleDating.of_days(365))
    return often, once, never


async def test_a_preview_counts_the_members_a_segment_reaches(world: FakeWorld) -> None:
    _often, once, _never = await buyers(world)

    async def count(spec: object) -> int:
        preview = await read(
            world.uow_factory,
            lambda uow: preview_segment(spec, uow, clock=world.clock),  # type: ignore[arg-type]
        )
        return preview.members

    assert await count(TierSegmentSpec("member")) == 3
    assert await count(LifecycleSegmentSpec(LifecycleStage.DORMANT)) == 1
    assert await count(LifecycleSegmentSpec(LifecycleStage.PROSPECT)) == 1
    # n = 2: often ranks R2 F2 -> scores 3 and 3 (need_attention); once R1 F1 (lost)
    assert await count(RfmSegmentSpec(RfmSegment.NEED_ATTENTION)) == 1
    members = await read(
        world.uow_factory,
        lambda uow: segment_members(RfmSegmentSpec(RfmSegment.LOST), uow, clock=world.clock),
    )
    assert members == [once]
    with pytest.raises(InvalidInput):
        await count(TierSegmentSpec("gold"))


async def test_the_360_view_shows_scores_segment_and_stage(world: FakeWorld) -> None:
    often, _, never = await buyers(world)

    view = await read(world.uow_factory, lambda uow: member_overview(often, uow, world.clock))
    idle = await read(world.uow_factory, lambda uow: member_overview(never, uow, world.clock))

    assert view.crm is not None
    assert view.crm.rfm is not None
    assert (view.crm.rfm.values.frequency, view.crm.rfm.segment, view.crm.stage) == (
        2,
        RfmSegment.NEED_ATTENTION,
        LifecycleStage.NEW,
    )
    assert idle.crm is not None
    assert (idle.crm.rfm, idle.crm.stage) == (None, LifecycleStage.PROSPECT)


async def scheduled_follow_up(world: FakeWorld) -> FollowUp:
    """A follow-up of a member's purchase (of an enrolled member: recording the call checks
    the member was not erased)."""
    member_id = await enrol(world, "13800138009")
    follow_up = FollowUp(7, member_id, UUID(int=2), date(2025, 3, 1))
    world.db.follow_ups.schedule(follow_up, "R-9", datetime(2025, 2, 22, 10, tzinfo=UTC), 12_500)
    return follow_up


async def test_recording_a_call_saves_it_and_audits_it(world: FakeWorld) -> None:
    await scheduled_follow_up(world)
    cmd = RecordCall(7, FollowUpStatus.REACHED, 5, "happy", "admin:ann")

    listing = await write(world.uow_factory, lambda uow: record_call(cmd, uow, clock=world.clock))

    assert (listing.follow_up.status, listing.follow_up.satisfaction, listing.receipt_id) == (
        FollowUpStatus.REACHED,
        5,
        "R-9",
    )
    assert listing.follow_up.called_at == world.clock.now()
    [audit] = world.db.audit.records
    assert (audit.action, audit.subject, audit.details) == (
        "follow_up.called",
        "follow_up:7",
        {"status": "reached", "satisfaction": 5},
    )
    pending = await read(
        world.uow_factory,
        lambda uow: list_follow_ups(
            uow, status=FollowUpStatus.PENDING, due_by=None, after_id=None, limit=10
        ),
    )
    assert pending.items == []


async def test_a_refused_call_record_changes_nothing(world: FakeWorld) -> None:
    await scheduled_follow_up(world)
    cmd = RecordCall(7, FollowUpStatus.UNREACHABLE, 5, None, "admin:ann")

    with pytest.raises(InvalidInput):
        await write(world.uow_factory, lambda uow: record_call(cmd, uow, clock=world.clock))

    assert world.db.follow_ups.listings[7].follow_up.status is FollowUpStatus.PENDING
    assert world.db.audit.records == []


async def test_an_unknown_follow_up_is_not_found(world: FakeWorld) -> None:
    cmd = RecordCall(1, FollowUpStatus.DECLINED, None, None, "admin:ann")
    with pytest.raises(FollowUpNotFound):
        await write(world.uow_factory, lambda uow: record_call(cmd, uow, clock=world.clock))


async def test_a_satisfaction_answer_joins_the_feedback_and_a_correction_updates_it(
    world: FakeWorld,
) -> None:
    follow_up = await scheduled_follow_up(world)
    unhappy = RecordCall(7, FollowUpStatus.REACHED, 2, "parcel arrived late", "admin:ann")
    await write(world.uow_factory, lambda uow: record_call(unhappy, uow, clock=world.clock))
    [feedback] = world.db.feedback.records.values()
    assert (feedback.kind.value, feedback.text, feedback.order_ref, feedback.member_id) == (
        "complaint",
        "parcel arrived late",
        "R-9",
        follow_up.member_id,
    )
    corrected = RecordCall(7, FollowUpStatus.REACHED, 5, None, "admin:ann")
    await write(world.uow_factory, lambda uow: record_call(corrected, uow, clock=world.clock))
    [feedback] = world.db.feedback.records.values()
    assert (feedback.kind.value, feedback.text) == ("praise", "Follow-up call: satisfaction 5/5")


async def test_a_call_without_a_satisfaction_answer_adds_no_feedback(world: FakeWorld) -> None:
    await scheduled_follow_up(world)
    cmd = RecordCall(7, FollowUpStatus.UNREACHABLE, None, None, "admin:ann")
    await write(world.uow_factory, lambda uow: record_call(cmd, uow, clock=world.clock))
    assert world.db.feedback.records == {}
