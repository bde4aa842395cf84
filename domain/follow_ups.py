"""Follow-up calls: a service agent calls a member some days after a purchase, once per sale,
and records how it went (and, when the member was reached, how satisfied they are)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.errors import InvalidInput, NotFound

MAX_OUTCOME_LENGTH = 1000


class FollowUpNotFound(NotFound):
    code = "follow_up_not_found"
    title = "No such follow-up"


class FollowUpStatus(StrEnum):
    PENDING = "pending"  # not called yet
    REACHED = "reached"
    UNREACHABLE = "unreachable"  # no answer
    DECLINED = "declined"  # the member did not want to talk


@dataclass(slots=True)
class FollowUp:
    id: int
    member_id: UUID
    sale_id: UUID
    due_on: date
    status: FollowUpStatus = FollowUpStatus.PENDING
    satisfaction: int | None = None  # 1-5, only when the member was reached
    outcome: str | None = None
    called_at: datetime | None = None
    called_by: str | None = None

    def record_call(
        self,
        status: FollowUpStatus,
        *,
        satisfaction: int | None,
        outcome: str | None,
        actor: str,
        at: datetime,
    ) -> None:
        """Records (or corrects) the call; the latest record is the one that stands."""
        if status is FollowUpStatus.PENDING:
            raise InvalidInput("a call is reached, unreachable or declined", field="status")
        if satisfaction is not None:
            if status is not FollowUpStatus.REACHED:
                raise InvalidInput(
                    "satisfaction is only recorded when the member was reached",
                    field="satisfaction",
                )
            if not 1 <= satisfaction <= 5:
                raise InvalidInput("satisfaction is between 1 and 5", field="satisfaction")
        notes = outcome.strip() if outcome else None
        if notes and len(notes) > MAX_OUTCOME_LENGTH:
            raise InvalidInput(
                f"outcome is longer than {MAX_OUTCOME_LENGTH} characters", field="outcome"
            )
        self.status = status
        self.satisfaction = satisfaction
        self.outcome = notes or None
        self.called_at = at
        self.called_by = actor


@dataclass(frozen=True, slots=True)
class FollowUpListing:
    """A follow-up with what the agent needs about the purchase."""

    follow_up: FollowUp
    receipt_id: str
    purchased_at: datetime
    amount: int  # the sale's payable amount, minor units


class FollowUpRepository(Protocol):
    async def get_for_update(self, follow_up_id: int) -> FollowUp | None: ...

    async def save(self, follow_up: FollowUp) -> None: ...

    async def listing(self, follow_up_id: int) -> FollowUpListing | None: ...

    async def page(
        self,
        *,
        status: FollowUpStatus | None,
        due_by: date | None,
        after_id: int | None,
        limit: int,
    ) -> Sequence[FollowUpListing]:
        """Follow-ups in id order (the order they were scheduled), after ``after_id``."""
        ...

    async def of_member(self, member_id: UUID, *, limit: int) -> Sequence[FollowUpListing]:
        """The member's follow-ups, the latest scheduled first (the 360 view)."""
        ...
