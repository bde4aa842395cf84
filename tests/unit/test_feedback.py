from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import InvalidInput
from domain.feedback import (
    Feedback,
    FeedbackKind,
    FeedbackStatus,
    FeedbackTransitionNotAllowed,
)

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def complaint(text: str = "The parcel arrived wet", order_ref: str | None = None) -> Feedback:
    return Feedback.submit(
        feedback_id=UUID(int=1),
        member_id=UUID(int=2),
        kind=FeedbackKind.COMPLAINT,
        text=text,
        order_ref=order_ref,
        now=NOW,
    )


def test_new_feedback_is_trimmed_and_starts_as_new() -> None:
    feedback = complaint("  wet parcel  ", order_ref=" O1 ")

    assert (feedback.text, feedback.order_ref, feedback.status) == (
        "wet parcel",
        "O1",
        FeedbackStatus.NEW,
    )


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001])
def test_feedback_text_is_required_and_bounded(text: str) -> None:
    with pytest.raises(InvalidInput):
        complaint(text)


def test_feedback_moves_forward_and_keeps_who_moved_it() -> None:
    feedback = complaint()

    feedback.move_to(FeedbackStatus.ACKNOWLEDGED, note="Called back", actor="admin:a", now=NOW)
    feedback.move_to(FeedbackStatus.RESOLVED, note=None, actor="admin:b", now=LATER)

    assert feedback.status is FeedbackStatus.RESOLVED
    assert (feedback.admin_note, feedback.updated_by, feedback.updated_at) == (
        "Called back",
        "admin:b",
        LATER,
    )


def test_new_feedback_may_be_resolved_at_once() -> None:
    feedback = complaint()

    feedback.move_to(FeedbackStatus.RESOLVED, note="Refunded", actor="admin:a", now=NOW)

    assert feedback.status is FeedbackStatus.RESOLVED


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (FeedbackStatus.ACKNOWLEDGED, FeedbackStatus.NEW),
        (FeedbackStatus.RESOLVED, FeedbackStatus.ACKNOWLEDGED),
        (FeedbackStatus.RESOLVED, FeedbackStatus.RESOLVED),
    ],
)
def test_feedback_never_moves_back_and_a_resolved_record_is_closed(
    start: FeedbackStatus, to: FeedbackStatus
) -> None:
    feedback = complaint()
    feedback.status = start

    with pytest.raises(FeedbackTransitionNotAllowed):
        feedback.move_to(to, note="again", actor="admin:a", now=NOW)


def test_a_note_can_be_added_without_changing_the_status_but_not_nothing() -> None:
    feedback = complaint()
    feedback.move_to(FeedbackStatus.ACKNOWLEDGED, note=None, actor="admin:a", now=NOW)

    feedback.move_to(FeedbackStatus.ACKNOWLEDGED, note="Courier asked", actor="admin:a", now=NOW)
    with pytest.raises(FeedbackTransitionNotAllowed):
        feedback.move_to(FeedbackStatus.ACKNOWLEDGED, note=None, actor="admin:a", now=NOW)

    assert feedback.admin_note == "Courier asked"
