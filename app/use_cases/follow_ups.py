"""The follow-up call list and recording a call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol
from uuid import UUID, uuid5

from app.unit_of_work import WithAudit, WithFeedback, WithFollowUps
from app.use_cases.erased_members import ErasedMembersUnit, hold_named_member
from domain.feedback import Feedback, FeedbackKind
from domain.follow_ups import FollowUp, FollowUpListing, FollowUpNotFound, FollowUpStatus
from domain.members import Member
from domain.ports import Clock
from domain.repositories import AuditRecord


class FollowUpsUnit(ErasedMembersUnit, WithAudit, WithFeedback, WithFollowUps, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class RecordCall:
    follow_up_id: int
    status: FollowUpStatus
    satisfaction: int | None
    outcome: str | None
    actor: str


@dataclass(frozen=True, slots=True)
class FollowUpPage:
    items: Sequence[FollowUpListing]
    next_after_id: int | None


async def list_follow_ups(
    uow: FollowUpsUnit,
    *,
    status: FollowUpStatus | None,
    due_by: date | None,
    after_id: int | None,
    limit: int,
) -> FollowUpPage:
    items = await uow.follow_ups.page(
        status=status, due_by=due_by, after_id=after_id, limit=limit + 1
    )
    more = len(items) > limit
    items = items[:limit]
    return FollowUpPage(items, items[-1].follow_up.id if more else None)


async def member_follow_ups(
    member_id: UUID, uow: FollowUpsUnit, *, limit: int
) -> Sequence[FollowUpListing]:
    """The member's follow-up calls, the latest first: what the service agent sees on the
    member's page before calling again."""
    return await uow.follow_ups.of_member(member_id, limit=limit)


async def record_call(cmd: RecordCall, uow: FollowUpsUnit, *, clock: Clock) -> FollowUpListing:
    known = await uow.follow_ups.listing(cmd.follow_up_id)
    if known is None:
        raise FollowUpNotFound()
    # A call's outcome becomes the member's feedback: never for an erased member, so their
    # account lock first (the erasure's), then the follow-up's.
    await hold_named_member(uow, known.follow_up.member_id)
    follow_up = await uow.follow_ups.get_for_update(cmd.follow_up_id)
    if follow_up is None:
        raise FollowUpNotFound()
    follow_up.record_call(
        cmd.status,
        satisfaction=cmd.satisfaction,
        outcome=cmd.outcome,
        actor=cmd.actor,
        at=clock.now(),
    )
    await uow.follow_ups.save(follow_up)
    if follow_up.satisfaction is not None:
        await _feed_back(follow_up, uow, clock.now())
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "follow_up.called",
            f"follow_up:{follow_up.id}",
            {"status": follow_up.status.value, "satisfaction": follow_up.satisfaction},
        )
    )
    listing = await uow.follow_ups.listing(follow_up.id)
    assert listing is not None
    return listing


# The feedback record of a follow-up call has an id derived from the follow-up, so a corrected
# call updates its record instead of adding a second one.
_FEEDBACK_NAMESPACE = UUID("6f0b7c52-3f4e-4c0e-9a55-2d1f0c7e8b11")


def feedback_kind_for(satisfaction: int) -> FeedbackKind:
    if satisfaction <= 2:
        return FeedbackKind.COMPLAINT
    if satisfaction >= 4:
        return FeedbackKind.PRAISE
    return FeedbackKind.SUGGESTION


async def _feed_back(follow_up: FollowUp, uow: FollowUpsUnit, now: datetime) -> None:
    """The member's satisfaction joins the feedback records, where agents triage it."""
    assert follow_up.satisfaction is not None
    kind = feedback_kind_for(follow_up.satisfaction)
    text = follow_up.outcome or f"Follow-up call: satisfaction {follow_up.satisfaction}/5"
    feedback_id = uuid5(_FEEDBACK_NAMESPACE, f"follow-up:{follow_up.id}")
    existing = await uow.feedback.get_for_update(feedback_id)
    if existing is not None:
        await uow.feedback.save(replace(existing, kind=kind, text=text, updated_at=now))
        return
    listing = await uow.follow_ups.listing(follow_up.id)
    await uow.feedback.add(
        Feedback.submit(
            feedback_id=feedback_id,
            member_id=follow_up.member_id,
            kind=kind,
            text=text,
            order_ref=listing.receipt_id if listing else None,
            now=now,
        )
    )


@dataclass(frozen=True, slots=True)
class CallSheet:
    """The call list as an agent works through it: each follow-up with whom to call."""

    page: FollowUpPage
    members: dict[UUID, Member]


async def call_sheet(
    uow: FollowUpsUnit,
    *,
    status: FollowUpStatus | None,
    due_by: date | None,
    after_id: int | None,
    limit: int,
) -> CallSheet:
    page = await list_follow_ups(uow, status=status, due_by=due_by, after_id=after_id, limit=limit)
    members: dict[UUID, Member] = {}
    for item in page.items:
        member_id = item.follow_up.member_id
        if member_id not in members:
            member = await uow.members.get(member_id)
            if member is not None:
                members[member_id] = member
    return CallSheet(page, members)
