"""Applying a webhook event exactly once.

The event id is claimed as the first write of the transaction that applies the event, so
"applied" and "remembered" commit together: a second delivery of the same id, even one that
arrives at the same instant, waits on the first one's row and then finds it recorded. An
event that is refused (a domain error) rolls everything back, its id included, so the sender
can send it again once the cause is fixed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.ports import Clock


class Source(StrEnum):
    SHOP = "shop"
    STRIPE = "stripe"


# What happened to an event; stored with it and returned to the sender.
APPLIED = "applied"
IGNORED = "ignored"
DUPLICATE = "duplicate"

Apply = Callable[[UnitOfWork], Awaitable[str]]


async def apply_once(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    source: Source,
    event_id: str,
    event_type: str,
    apply: Apply,
) -> str:
    """Runs ``apply`` unless the event was applied before; returns the outcome."""
    async with uow_factory() as uow:
        if not await uow.webhook_events.claim(source.value, event_id, event_type, clock.now()):
            return DUPLICATE
        outcome = await apply(uow)
        await uow.webhook_events.record_outcome(source.value, event_id, outcome)
        await uow.commit()
        return outcome
