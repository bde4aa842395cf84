"""Member feedback: suggestions, complaints and praise, worked through by the service team.

A record moves forward only: new -> acknowledged -> resolved (new -> resolved directly is
allowed: some things are fixed the moment they are read). A resolved record is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.errors import Conflict, InvalidInput, NotFound

MAX_TEXT_LENGTH = 2000
MAX_NOTE_LENGTH = 1000
MAX_ORDER_REF_LENGTH = 64


class FeedbackKind(StrEnum):
    SUGGESTION = "suggestion"
    COMPLAINT = "complaint"
    PRAISE = "praise"


class FeedbackStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


_ORDER = {FeedbackStatus.NEW: 0, FeedbackStatus.ACKNOWLEDGED: 1, FeedbackStatus.RESOLVED: 2}


class FeedbackNotFound(NotFound):
    code = "feedback_not_found"
    title = "No such feedback"


class FeedbackTransitionNotAllowed(Conflict):
    code = "feedback_transition_not_allowed"
    title = "Feedback only moves forward: new, acknowledged, resolved"


@dataclass(slots=True)
class Feedback:
    id: UUID
    member_id: UUID
    kind: FeedbackKind
    text: str
    created_at: datetime
    updated_at: datetime
    order_ref: str | None = None
    status: FeedbackStatus = FeedbackStatus.NEW
    admin_note: str | None = None
    updated_by: str | None = None

    @classmethod
    def submit(
        cls,
        *,
        feedback_id: UUID,
        member_id: UUID,
        kind: FeedbackKind,
        text: str,
        order_ref: str | None,
        now: datetime,
    ) -> Feedback:
        clean = text.strip()
        if not clean or len(clean) > MAX_TEXT_LENGTH:
            raise InvalidInput(f"text must be 1-{MAX_TEXT_LENGTH} characters", field="text")
        ref = order_ref.strip() if order_ref else None
        if ref is not None and len(ref) > MAX_ORDER_REF_LENGTH:
            raise InvalidInput(
                f"order_ref is longer than {MAX_ORDER_REF_LENGTH} characters", field="order_ref"
            )
        return cls(
            id=feedback_id,
            member_id=member_id,
            kind=kind,
            text=clean,
            order_ref=ref or None,
            created_at=now,
            updated_at=now,
        )

    def move_to(
        self, status: FeedbackStatus, *, note: str | None, actor: str, now: datetime
    ) -> None:
        """Moves the record forward; a note alone may be added without changing the status."""
        if _ORDER[status] < _ORDER[self.status] or (
            status is self.status and self.status is FeedbackStatus.RESOLVED
        ):
            raise FeedbackTransitionNotAllowed(
                f"feedback is {self.status.value}; it cannot become {status.value}"
            )
        clean = note.strip() if note is not None else None
        if clean is not None and len(clean) > MAX_NOTE_LENGTH:
            raise InvalidInput(f"note is longer than {MAX_NOTE_LENGTH} characters", field="note")
        if status is self.status and not clean:
            raise FeedbackTransitionNotAllowed(
                f"feedback is already {status.value}; give a new status or a note"
            )
        self.status = status
        if clean:
            self.admin_note = clean
        self.updated_at = now
        self.updated_by = actor


@dataclass(frozen=True, slots=True)
class FeedbackPage:
    items: list[Feedback]
    next_after: tuple[datetime, UUID] | None


class FeedbackRepository(Protocol):
    async def add(self, feedback: Feedback) -> None: ...

    async def get_for_update(self, feedback_id: UUID) -> Feedback | None: ...

    async def save(self, feedback: Feedback) -> None: ...

    async def page(
        self,
        *,
        status: FeedbackStatus | None,
        kind: FeedbackKind | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> FeedbackPage:
        """Newest first; ``after`` is the (created_at, id) of the last item already seen."""
        ...

    async def of_member(
        self, member_id: UUID, limit: int, *, after: tuple[datetime, UUID] | None = None
    ) -> list[Feedback]:
        """Newest first; ``after`` is the (created_at, id) of the last item already seen."""
        ...
