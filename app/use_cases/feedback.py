"""Members tell the retailer what they think; the service team works through it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithAudit, WithFeedback, WithIntegrationEvents
from app.use_cases.erased_members import ErasedMembersUnit, hold_own_account
from domain.feedback import (
    Feedback,
    FeedbackKind,
    FeedbackNotFound,
    FeedbackPage,
    FeedbackStatus,
)
from domain.integration_events import feedback_created
from domain.ports import Clock, IdGenerator
from domain.repositories import AuditRecord


class FeedbackUnit(ErasedMembersUnit, WithAudit, WithFeedback, WithIntegrationEvents, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class SubmitFeedback:
    member_id: UUID
    kind: FeedbackKind
    text: str
    order_ref: str | None = None


async def submit_feedback(
    cmd: SubmitFeedback, uow: FeedbackUnit, *, clock: Clock, ids: IdGenerator
) -> Feedback:
    # Under the lock an erasure takes first: feedback is never written after the erasure
    # blanked the member's feedback, to be shown unblanked.
    await hold_own_account(uow, cmd.member_id)
    feedback = Feedback.submit(
        feedback_id=ids.new_id(),
        member_id=cmd.member_id,
        kind=cmd.kind,
        text=cmd.text,
        order_ref=cmd.order_ref,
        now=clock.now(),
    )
    await uow.feedback.add(feedback)
    await uow.integration_events.publish(feedback_created(feedback))
    return feedback


@dataclass(frozen=True, slots=True)
class ListFeedback:
    status: FeedbackStatus | None = None
    kind: FeedbackKind | None = None
    after: tuple[datetime, UUID] | None = None
    limit: int = 50


async def list_feedback(query: ListFeedback, uow: FeedbackUnit) -> FeedbackPage:
    return await uow.feedback.page(
        status=query.status, kind=query.kind, after=query.after, limit=query.limit
    )


@dataclass(frozen=True, slots=True)
class UpdateFeedback:
    feedback_id: UUID
    status: FeedbackStatus
    actor: str
    note: str | None = None


async def update_feedback(cmd: UpdateFeedback, uow: FeedbackUnit, *, clock: Clock) -> Feedback:
    """Moves a record forward (audited); the row lock keeps two admins from crossing."""
    feedback = await uow.feedback.get_for_update(cmd.feedback_id)
    if feedback is None:
        raise FeedbackNotFound()
    before = feedback.status
    feedback.move_to(cmd.status, note=cmd.note, actor=cmd.actor, now=clock.now())
    await uow.feedback.save(feedback)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "feedback.updated",
            f"feedback:{feedback.id}",
            {"from": before.value, "to": feedback.status.value, "note": feedback.admin_note},
        )
    )
    return feedback


async def member_feedback(
    member_id: UUID,
    uow: FeedbackUnit,
    *,
    limit: int = 50,
    after: tuple[datetime, UUID] | None = None,
) -> FeedbackPage:
    """The member's own feedback, newest first, a page at a time."""
    rows = await uow.feedback.of_member(member_id, limit + 1, after=after)
    items = rows[:limit]
    more = len(rows) > limit
    return FeedbackPage(
        items=items, next_after=(items[-1].created_at, items[-1].id) if more else None
    )
