from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from app.transactions import write
from app.use_cases.member_privacy import EraseMember, erase_member, export_member
from domain.errors import MemberNotFound
from domain.member_privacy import is_erased_phone, phone_tombstone
from tests.support.fakes import FakeWorld, enrol


async def enrolled(world: FakeWorld) -> UUID:
    details = {"name": "Li Lei", "email": "li@example.com", "birthday": date(1990, 5, 17)}
    return await enrol(world, "+8613800138000", **details)


async def test_erasing_a_member_clears_their_profile_and_audits_what_changed(
    world: FakeWorld,
) -> None:
    member_id = await enrolled(world)

    erasure = await write(
        world.uow_factory,
        lambda uow: erase_member(EraseMember(member_id, "admin:a"), uow, clock=world.clock),
    )

    member = world.db.members.members[member_id]
    assert (member.phone, member.name, member.email, member.birthday) == (
        phone_tombstone(member_id),
        None,
        None,
        None,
    )
    assert erasure.changed["members"] == 1
    assert erasure.erased_at == world.clock.now()
    [audit] = world.db.audit.records
    assert (audit.actor, audit.action, audit.subject) == (
        "admin:a",
        "member.erased",
        f"member:{member_id}",
    )
    export = await write(
        world.uow_factory,
        lambda uow: export_member(member_id, uow, clock=world.clock, actor="admin:b"),
    )
    assert export.erased
    exported = world.db.audit.records[-1]
    assert (exported.actor, exported.action, exported.subject) == (
        "admin:b",
        "member.exported",
        f"member:{member_id}",
    )
    assert exported.details["rows"]["members"] == 1


async def test_exporting_or_erasing_an_unknown_member_is_member_not_found(
    world: FakeWorld,
) -> None:
    unknown = UUID(int=7)

    with pytest.raises(MemberNotFound):
        await write(
            world.uow_factory,
            lambda uow: export_member(unknown, uow, clock=world.clock, actor="admin:a"),
        )
    with pytest.raises(MemberNotFound):
        await write(
            world.uow_factory,
            lambda uow: erase_member(EraseMember(unknown, "admin:a"), uow, clock=world.clock),
        )
    assert world.db.audit.records == []


def test_the_phone_tombstone_is_never_a_phone_number_and_differs_per_member() -> None:
    first, second = phone_tombstone(UUID(int=1)), phone_tombstone(UUID(int=2))

    assert first != second
    assert len(first) == 16
    assert not first.startswith("+")
    assert is_erased_phone(first)
    assert not is_erased_phone("+8613800138000")
