"""Collecting an item reward at a till: the member shows the fulfilment code, the till looks
the redemption up, takes the cash price (for a points-plus-cash reward) and hands it over.

The points were taken when the member redeemed (reward_catalogue.py); collecting only marks
the redemption used, where and for what cash, so it can no longer be cancelled. The
redemption's row is locked by its code first: two tills collecting one code at the same
instant queue there, and the second finds it handed over (409 ``reward_redemption_used``).
Any store of the retailer may hand an item over: a reward is not kept for one store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithAudit, WithCatalogue, WithIntegrationEvents
from domain import integration_events
from domain.coupon_codes import normalise
from domain.errors import RewardRedemptionNotFound
from domain.ports import Clock
from domain.repositories import AuditRecord
from domain.reward_catalogue import CatalogueRewardKind, RewardRedemption


class CollectionUnit(WithAudit, WithCatalogue, WithIntegrationEvents, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class FindRedemptionByCode:
    code: str  # as the member shows it: any case, with or without the hyphens


@dataclass(frozen=True, slots=True)
class CollectReward:
    code: str
    cash_paid: int  # minor units taken at the till; must be the redemption's cash price
    store_id: UUID  # the terminal's store
    terminal_id: UUID | None
    actor: str


async def _by_code(code: str, uow: CollectionUnit, *, for_update: bool) -> RewardRedemption:
    canonical = normalise(code)
    redemption = (
        await uow.catalogue.redemption_by_code(canonical, for_update=for_update)
        if canonical is not None
        else None
    )
    # A coupon reward has no fulfilment code; an unknown, mistyped or foreign code: one answer.
    if redemption is None or redemption.kind is not CatalogueRewardKind.ITEM:
        raise RewardRedemptionNotFound("no item reward has this fulfilment code")
    return redemption


async def find_redemption_by_code(
    cmd: FindRedemptionByCode, uow: CollectionUnit
) -> RewardRedemption:
    """What the till shows before handing over: the item, its status and the cash to take."""
    return await _by_code(cmd.code, uow, for_update=False)


async def collect_reward(
    cmd: CollectReward, uow: CollectionUnit, *, clock: Clock
) -> RewardRedemption:
    """Hands the item over for exactly its cash price, once (see the module's docstring)."""
    now = clock.now()
    redemption = await _by_code(cmd.code, uow, for_update=True)
    redemption.collect(
        cash_paid=cmd.cash_paid,
        now=now,
        by=cmd.actor,
        store_id=cmd.store_id,
        terminal_id=cmd.terminal_id,
    )
    await uow.catalogue.save_redemption(redemption)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "reward_redemption.collected",
            f"reward_redemption:{redemption.id}",
            {
                "reward_id": str(redemption.reward_id),
                "member_id": str(redemption.member_id),
                "cash_paid": cmd.cash_paid,
                "store_id": str(cmd.store_id),
                "terminal_id": str(cmd.terminal_id) if cmd.terminal_id else None,
            },
        )
    )
    await uow.integration_events.publish_all(
        [
            integration_events.reward_collected(
                redemption.id,
                redemption.reward_id,
                redemption.member_id,
                cmd.cash_paid,
                cmd.store_id,
                cmd.terminal_id,
                now,
            )
        ]
    )
    return redemption
