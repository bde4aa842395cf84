"""Tier standing: the policy admins configure, upgrades, tiers set by hand, what members see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from app.unit_of_work import (
    WithAudit,
    WithIntegrationEvents,
    WithOutbox,
    WithProgram,
    WithSales,
    WithTiers,
)
from app.use_cases.erased_members import ErasedMembersUnit, hold_named_member, own_account
from app.use_cases.views import TierView
from domain import integration_events
from domain.errors import InvalidInput, TierPolicyChanged
from domain.notifications import tier_changed
from domain.ports import Clock
from domain.repositories import AuditRecord, TierEvent
from domain.tier_policy import MemberTier, TierPolicy, on_purchase, set_by_hand
from domain.tiers import Tier, TierLadder


class TiersUnit(
    ErasedMembersUnit,
    WithAudit,
    WithIntegrationEvents,
    WithOutbox,
    WithProgram,
    WithSales,
    WithTiers,
    Protocol,
):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


async def upgrade_if_qualified(
    uow: TiersUnit,
    member_id: UUID,
    now: datetime,
    policy: TierPolicy,
    standing: MemberTier,
    qualifying_value: int,
) -> TierView:
    """Moves the member up at once if their rolling spend (``qualifying_value``, over the
    policy's window at ``now``, this purchase included) reaches a higher tier.

    Runs in the purchase's own transaction, after its points were earned at the old tier's
    multiplier; the member's next purchase earns at the new one. ``standing`` was read under
    the member's account lock, which the transaction still holds.
    """
    decision = on_purchase(policy, standing, qualifying_value)
    if decision.change is not None:
        await uow.members.change_tier(member_id, decision, TierEvent(now, policy.version))
        await uow.outbox.add(tier_changed(member_id, decision.change, now))
        await uow.integration_events.publish(
            integration_events.tier_changed(member_id, decision.change, now)
        )
    tier = policy.ladder.get(decision.standing.tier_code) or policy.ladder.entry_tier
    return TierView(tier.code, tier.name)


# The policy --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProposedPolicy:
    window_days: int
    grace_days: int
    ladder: TierLadder


@dataclass(frozen=True, slots=True)
class PolicyUpdated:
    policy: TierPolicy
    members_moved: int


async def get_tier_policy(uow: TiersUnit) -> TierPolicy:
    return await uow.tiers.policy()


async def update_tier_policy(
    proposed: ProposedPolicy,
    actor: str,
    uow: TiersUnit,
    *,
    clock: Clock,
    expected_version: int | None = None,
) -> PolicyUpdated:
    """Saves the policy as the next version and applies it at once: members whose tier it
    removes, and members who now qualify for a higher tier, move (reason ``policy_change``).
    Nobody moves down here; only reviews downgrade. With ``expected_version`` (the version
    the caller read), a policy saved meanwhile is ``TierPolicyChanged``; without it, only a
    version saved between this read and this save is."""
    return await revise_tier_policy(
        lambda _: proposed, actor, uow, clock=clock, expected_version=expected_version
    )


async def revise_tier_policy(
    revise: Callable[[TierPolicy], ProposedPolicy],
    actor: str,
    uow: TiersUnit,
    *,
    clock: Clock,
    expected_version: int | None = None,
) -> PolicyUpdated:
    """Saves ``revise(current)`` as the next version (a PATCH applies its patch to the policy
    read here; one saved by someone else before this save is ``TierPolicyChanged``)."""
    current = await uow.tiers.policy()
    if expected_version is not None and expected_version != current.version:
        raise TierPolicyChanged(
            f"the tier policy is at version {current.version}, not {expected_version}"
        )
    proposed = revise(current)
    updated = TierPolicy(
        window_days=proposed.window_days,
        grace_days=proposed.grace_days,
        ladder=proposed.ladder,
        version=current.version + 1,
    )
    now = clock.now()
    moved = await uow.tiers.adopt_policy(updated, actor, now)
    await uow.audit.record(
        AuditRecord(
            actor,
            "tiers.updated",
            "tiers",
            {"from": policy_json(current), "to": policy_json(updated), "members_moved": moved},
        )
    )
    return PolicyUpdated(updated, moved)


def policy_json(policy: TierPolicy) -> dict[str, object]:
    return {
        "version": policy.version,
        "window_days": policy.window_days,
        "grace_days": policy.grace_days,
        "tiers": [
            {
                "code": t.code,
                "name": t.name,
                "rank": t.rank,
                "threshold": t.threshold,
                "earn_multiplier": str(t.earn_multiplier),
            }
            for t in policy.ladder.tiers
        ],
    }


# Tiers set by hand -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetTier:
    member_id: UUID
    tier_code: str
    reason: str
    actor: str
    until: datetime | None = None


async def set_member_tier(cmd: SetTier, uow: TiersUnit, *, clock: Clock) -> TierView:
    """Gives the member a tier by hand; it holds against reviews until ``until``."""
    now = clock.now()
    if cmd.until is not None and cmd.until <= now:
        raise InvalidInput("until must be in the future", field="until")
    # The account lock serialises this with the member's purchases (and an erasure).
    await hold_named_member(uow, cmd.member_id)
    policy = await uow.tiers.policy()
    standing = await uow.members.standing(cmd.member_id)
    decision = set_by_hand(policy, standing, cmd.tier_code, cmd.until)
    await uow.members.change_tier(
        cmd.member_id, decision, TierEvent(now, policy.version, cmd.actor, cmd.reason)
    )
    if decision.change is not None:
        await uow.outbox.add(tier_changed(cmd.member_id, decision.change, now))
        await uow.integration_events.publish(
            integration_events.tier_changed(cmd.member_id, decision.change, now)
        )
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "member.tier_set",
            f"member:{cmd.member_id}",
            {
                "from": standing.tier_code,
                "to": decision.standing.tier_code,
                "reason": cmd.reason,
                "until": cmd.until.isoformat() if cmd.until else None,
            },
        )
    )
    tier = policy.ladder.get(decision.standing.tier_code)
    assert tier is not None  # set_by_hand refuses unknown tiers
    return TierView(tier.code, tier.name)


# What the member sees ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MyTier:
    current: Tier
    next: Tier | None
    qualifying_value: int
    remaining: int | None  # None at the top tier
    window_days: int
    drops_out_on: date | None


async def my_tier(member_id: UUID, uow: TiersUnit, *, clock: Clock) -> MyTier:
    member = own_account(await uow.members.get(member_id))
    policy = await uow.tiers.policy()
    program = await uow.program.get()
    now = clock.now()
    since = policy.window_start(now)
    value = await uow.sales.qualifying_value(member_id, since)
    current = policy.ladder.get(member.tier_code) or policy.ladder.entry_tier
    following = policy.next_tier(current)
    oldest = await uow.sales.oldest_qualifying_purchase(member_id, since)
    drops_out_on = (
        (oldest + timedelta(days=policy.window_days)).astimezone(ZoneInfo(program.time_zone)).date()
        if oldest is not None
        else None
    )
    return MyTier(
        current=current,
        next=following,
        qualifying_value=value,
        remaining=max(following.threshold - value, 0) if following else None,
        window_days=policy.window_days,
        drops_out_on=drops_out_on,
    )
