"""Follow-up calls after a purchase."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, datetime
from uuid import UUID

from domain.follow_ups import FollowUp, FollowUpListing, FollowUpStatus
from tests.support.fakes.common import ConstraintViolation


class FakeFollowUpRepository:
    def __init__(self) -> None:
        self.listings: dict[int, FollowUpListing] = {}

    def schedule(
        self, follow_up: FollowUp, receipt_id: str, purchased_at: datetime, amount: int
    ) -> None:
        if any(item.follow_up.sale_id == follow_up.sale_id for item in self.listings.values()):
            raise ConstraintViolation(f"sale {follow_up.sale_id} already has a follow-up")
        self.listings[follow_up.id] = FollowUpListing(
            copy.deepcopy(follow_up), receipt_id, purchased_at, amount
        )

    async def get_for_update(self, follow_up_id: int) -> FollowUp | None:
        listing = self.listings.get(follow_up_id)
        return copy.deepcopy(listing.follow_up) if listing else None

    async def save(self, follow_up: FollowUp) -> None:
        self.listings[follow_up.id] = replace(
            self.listings[follow_up.id], follow_up=copy.deepcopy(follow_up)
        )

    async def listing(self, follow_up_id: int) -> FollowUpListing | None:
        return copy.deepcopy(self.listings.get(follow_up_id))

    async def of_member(self, member_id: UUID, *, limit: int) -> list[FollowUpListing]:
        mine = [i for _, i in sorted(self.listings.items()) if i.follow_up.member_id == member_id]
        return copy.deepcopy(mine[::-1][:limit])

    async def page(
        self,
        *,
        status: FollowUpStatus | None,
        due_by: date | None,
        after_id: int | None,
        limit: int,
    ) -> list[FollowUpListing]:
        chosen = [
            item
            for key, item in sorted(self.listings.items())
            if key > (after_id or 0)
            and (status is None or item.follow_up.status is status)
            and (due_by is None or item.follow_up.due_on <= due_by)
        ]
        return copy.deepcopy(chosen[:limit])
