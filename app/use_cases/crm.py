"""CRM use cases: how many members a segment reaches, and a member's CRM standing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithProgram, WithSegments
from domain.crm import MemberCrmProfile, SegmentSpec, TierSegmentSpec
from domain.ports import Clock
from domain.program import ProgramSettings
from domain.reporting import require_report_day


class CrmUnit(WithProgram, WithSegments, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class SegmentPreview:
    spec: SegmentSpec
    today: date  # fills the spec's as_of when it has none
    members: int


def _checked_today(spec: SegmentSpec, program: ProgramSettings, clock: Clock) -> date:
    """Today in the programme's zone, once the spec's own day is known to be a report day."""
    today = clock.now().astimezone(program.zone).date()
    if not isinstance(spec, TierSegmentSpec) and spec.as_of is not None:
        require_report_day(spec.as_of, today, "as_of")
    return today


async def preview_segment(spec: SegmentSpec, uow: CrmUnit, *, clock: Clock) -> SegmentPreview:
    """How many members a campaign to ``spec`` would reach, before anything is issued."""
    program = await uow.program.get()
    today = _checked_today(spec, program, clock)
    members = await uow.segments.count(spec, today=today, zone=program.time_zone, crm=program.crm)
    return SegmentPreview(spec, today, members)


async def segment_members(spec: SegmentSpec, uow: CrmUnit, *, clock: Clock) -> list[UUID]:
    """Every member in ``spec``, ordered by id: what a campaign issues to, once each."""
    program = await uow.program.get()
    today = _checked_today(spec, program, clock)
    return list(
        await uow.segments.member_ids(spec, today=today, zone=program.time_zone, crm=program.crm)
    )


async def crm_profile(member_id: UUID, uow: CrmUnit, *, clock: Clock) -> MemberCrmProfile:
    program = await uow.program.get()
    today = clock.now().astimezone(program.zone).date()
    return await uow.segments.profile(
        member_id, today=today, zone=program.time_zone, crm=program.crm
    )
