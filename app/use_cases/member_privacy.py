"""A member's right of access (export) and right to erasure, for the admins who answer them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithAudit, WithIntegrationEvents, WithMemberPrivacy, WithMembers
from domain.errors import MemberNotFound
from domain.integration_events import member_erased
from domain.member_privacy import Erasure, MemberExport, is_erased_phone, phone_tombstone
from domain.ports import Clock
from domain.repositories import AuditRecord


class MemberPrivacyUnit(WithAudit, WithIntegrationEvents, WithMemberPrivacy, WithMembers, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


async def export_member(
    member_id: UUID, uow: MemberPrivacyUnit, *, clock: Clock, actor: str
) -> MemberExport:
    """Everything held about the member. Handing personal data over is itself recorded:
    who took a copy, when, and how many rows of which tables (never the data)."""
    member = await uow.members.get(member_id)
    if member is None:
        raise MemberNotFound()
    tables = await uow.member_privacy.export(member_id)
    await uow.audit.record(
        AuditRecord(
            actor,
            "member.exported",
            f"member:{member_id}",
            {"rows": {name: len(rows) for name, rows in tables.items()}},
        )
    )
    return MemberExport(member_id, clock.now(), is_erased_phone(member.phone), tables)


@dataclass(frozen=True, slots=True)
class EraseMember:
    member_id: UUID
    actor: str


async def erase_member(cmd: EraseMember, uow: MemberPrivacyUnit, *, clock: Clock) -> Erasure:
    """Personal data goes; the ledger's amounts and its hash chain stay as they were.

    The member's account lock is taken first, as purchases and every other write that must not
    cross an erasure take it (app.use_cases.erased_members): a purchase in flight finishes
    first and its rows are erased with the rest; one that comes later waits and is refused.
    """
    if await uow.members.hold(cmd.member_id) is None:
        raise MemberNotFound()
    now = clock.now()
    changed = await uow.member_privacy.erase(
        cmd.member_id, tombstone=phone_tombstone(cmd.member_id), at=now
    )
    # Integrators hear of it; the personal data of earlier events is forgotten with it.
    await uow.integration_events.forget_member(cmd.member_id)
    await uow.integration_events.publish(member_erased(cmd.member_id, now))
    # What was done, never what was removed: the audit log is append-only and kept for good.
    await uow.audit.record(
        AuditRecord(cmd.actor, "member.erased", f"member:{cmd.member_id}", dict(changed))
    )
    return Erasure(cmd.member_id, now, changed)
