"""The member's own profile: details the member edits in the app, marketing consent per channel
with its history, and the birthday, which the member sets once and only staff change after.

A field left out of an update is kept; a field sent as null is cleared (JSON merge patch). The
birthday drives birthday rewards (app.use_cases.birthdays), so a member who could move it
could collect a reward every month: once set, only an admin changes it, with a reason, and the
audit log records who did and why (not the dates: the audit log is append-only and an
erasure must be able to remove personal data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from app.unit_of_work import WithAudit, WithIntegrationEvents, WithProfiles, WithProgram
from app.use_cases.erased_members import (
    ErasedMembersUnit,
    hold_named_member,
    hold_own_account,
    named_member,
    own_account,
)
from domain.contacts import ContactNormaliser
from domain.errors import BirthdayLocked, InvalidInput, MemberNotFound
from domain.integration_events import member_updated
from domain.members import (
    ConsentChange,
    ConsentChannel,
    ConsentSource,
    Member,
    clean_name,
    consent_changes,
    require_birthday,
    require_language,
)
from domain.ports import Clock
from domain.repositories import AuditRecord


class ProfileUnit(
    ErasedMembersUnit, WithAudit, WithIntegrationEvents, WithProfiles, WithProgram, Protocol
):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


MAX_REASON_LENGTH = 500


class Keep(Enum):
    """A field the update leaves as it is (absent from the request)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class UpdateMyProfile:
    member_id: UUID
    name: str | Keep | None = KEEP
    email: str | Keep | None = KEEP
    birthday: date | Keep | None = KEEP
    preferred_language: str | Keep | None = KEEP
    consents: Mapping[ConsentChannel, bool] = field(default_factory=dict)


async def _today(uow: ProfileUnit, clock: Clock) -> date:
    program = await uow.program.get()
    return clock.now().astimezone(ZoneInfo(program.time_zone)).date()


async def _hold(uow: ProfileUnit, member_id: UUID, *, own: bool) -> Member:
    """The member, read after taking the account lock every write for a member takes: two
    updates queue, and an erasure either waits for this one or is seen by it. The lock's own
    statement read the profile in the snapshot it took before waiting, so the profile is read
    again, in a statement that sees what the previous holder committed (tests/integration/
    test_profile_races.py: two birthdays at once)."""
    if own:
        await hold_own_account(uow, member_id)
        return own_account(await uow.members.get(member_id))
    await hold_named_member(uow, member_id)
    return named_member(await uow.members.get(member_id))


async def update_my_profile(
    cmd: UpdateMyProfile, uow: ProfileUnit, *, clock: Clock, contacts: ContactNormaliser
) -> Member:
    member = await _hold(uow, cmd.member_id, own=True)
    before = _announced_fields(member)
    if not isinstance(cmd.name, Keep):
        member.name = clean_name(cmd.name)
    if not isinstance(cmd.email, Keep):
        member.email = contacts.email(cmd.email) if cmd.email is not None else None
    if not isinstance(cmd.preferred_language, Keep):
        member.preferred_language = (
            require_language(cmd.preferred_language) if cmd.preferred_language is not None else None
        )
    if cmd.birthday is None:
        if member.birthday is not None:
            raise BirthdayLocked("the birthday cannot be removed in the app")
    elif not isinstance(cmd.birthday, Keep):
        member.set_own_birthday(cmd.birthday, await _today(uow, clock))
    changes = consent_changes(
        member, dict(cmd.consents), now=clock.now(), source=ConsentSource.MEMBER_APP
    )
    await uow.profiles.save_profile(member)
    await uow.profiles.add_consent_changes(changes)
    after = _announced_fields(member)
    changed = [name for name in after if after[name] != before[name]]
    if changed:
        await uow.integration_events.publish(
            member_updated(member.id, changed, clock.now(), member)
        )
    return member


def _announced_fields(member: Member) -> dict[str, object]:
    """What a member.updated event names when it changes (never the values)."""
    return {
        "name": member.name,
        "email": member.email,
        "preferred_language": member.preferred_language,
        "birthday": member.birthday,
        "consents": member.consents,
    }


@dataclass(frozen=True, slots=True)
class CorrectBirthday:
    member_id: UUID
    birthday: date | None
    reason: str
    actor: str


async def correct_birthday(cmd: CorrectBirthday, uow: ProfileUnit, *, clock: Clock) -> Member:
    """An admin sets, corrects or removes a member's birthday, audited with the reason."""
    reason = cmd.reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"give a reason of 1-{MAX_REASON_LENGTH} characters", field="reason")
    member = await _hold(uow, cmd.member_id, own=False)
    if cmd.birthday is not None:
        require_birthday(cmd.birthday, await _today(uow, clock))
    had_one = member.birthday is not None
    changed = member.birthday != cmd.birthday
    member.birthday = cmd.birthday
    if changed:
        await uow.profiles.save_profile(member)
        await uow.integration_events.publish(
            member_updated(member.id, ["birthday"], clock.now(), member)
        )
        await uow.audit.record(
            AuditRecord(
                cmd.actor,
                "member.birthday_corrected",
                f"member:{member.id}",
                {
                    "reason": reason,
                    "had_birthday": had_one,
                    "has_birthday": cmd.birthday is not None,
                },
            )
        )
    return member


@dataclass(frozen=True, slots=True)
class ConsentHistoryPage:
    items: Sequence[ConsentChange]
    next_before_id: int | None


async def consent_history(
    member_id: UUID, uow: ProfileUnit, *, before_id: int | None, limit: int
) -> ConsentHistoryPage:
    """Every change of the member's marketing consent, newest first (for the back office)."""
    if await uow.members.get(member_id) is None:
        raise MemberNotFound()
    rows = await uow.profiles.consent_history(member_id, before_id=before_id, limit=limit + 1)
    page = list(rows[:limit])
    more = len(rows) > limit and page
    return ConsentHistoryPage(page, page[-1].id if more else None)
