"""Admin corrections to a member's points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithAudit, WithIntegrationEvents, WithPoints, WithProgram
from app.use_cases.announcements import save_announced
from app.use_cases.erased_members import ErasedMembersUnit, hold_named_member
from app.use_cases.views import Balances
from domain.errors import AdjustmentOverLimit
from domain.points import Reference
from domain.ports import Clock, IdGenerator
from domain.repositories import AuditRecord


class PointsUnit(
    ErasedMembersUnit, WithAudit, WithIntegrationEvents, WithPoints, WithProgram, Protocol
):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class AdjustPoints:
    member_id: UUID
    points: int
    reason: str
    actor: str
    # The most points, either way, this actor may adjust in one go (the service role's
    # limit, app/permissions.py: adjustment_limit); None: no limit (an owner).
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Adjustment:
    adjustment_id: UUID
    member_id: UUID
    points: int
    reason: str
    balances: Balances


async def adjust_points(
    cmd: AdjustPoints, uow: PointsUnit, *, clock: Clock, ids: IdGenerator
) -> Adjustment:
    """Credits or debits points with a reason; a debit can never exceed what is available,
    and neither way more than the actor's limit."""
    if cmd.limit is not None and abs(cmd.points) > cmd.limit:
        raise AdjustmentOverLimit(cmd.limit)
    await hold_named_member(uow, cmd.member_id)
    program = await uow.program.get()
    now = clock.now()
    adjustment_id = ids.new_id()
    account = await uow.points.get_for_update(cmd.member_id)
    entry = account.adjust(
        cmd.points,
        reference=Reference("adjustment", str(adjustment_id)),
        now=now,
        actor=cmd.actor,
        reason=cmd.reason,
        expires_at=program.expiry_for(now),
    )
    await save_announced(uow, account)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "points.adjusted",
            f"member:{cmd.member_id}",
            {"points": cmd.points, "reason": entry.reason, "adjustment_id": str(adjustment_id)},
        )
    )
    return Adjustment(
        adjustment_id=adjustment_id,
        member_id=cmd.member_id,
        points=cmd.points,
        reason=entry.reason or "",
        balances=Balances.of(account),
    )
