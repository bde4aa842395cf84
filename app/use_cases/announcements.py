"""Saving a points account and announcing its postings to integrators, in one step.

Every use case that posts to the ledger saves through ``save_announced``: each new entry
becomes a points.* event (domain.integration_events) in the same transaction, so nothing is
announced that did not commit, and no posting is left unannounced.
"""

from __future__ import annotations

from typing import Protocol

from app.unit_of_work import WithIntegrationEvents, WithPoints
from domain.integration_events import points_events
from domain.points import PointsAccount


class AnnouncingPointsUnit(WithIntegrationEvents, WithPoints, Protocol):
    pass


async def save_announced(uow: AnnouncingPointsUnit, account: PointsAccount) -> None:
    events = points_events(account.new_entries)  # saving clears them
    await uow.points.save(account)
    await uow.integration_events.publish_all(events)
