"""The member profile repository's contract."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from uuid import UUID, uuid4

from domain.members import ConsentChange, ConsentChannel, ConsentSource
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0


def a_change(
    member_id: UUID,
    n: int,
    *,
    source: ConsentSource = ConsentSource.MEMBER_APP,
    actor: str | None = None,
) -> ConsentChange:
    return ConsentChange(
        member_id=member_id,
        channel=ConsentChannel.SMS,
        granted=n % 2 == 1,
        changed_at=T0 + timedelta(minutes=n),
        source=source,
        actor=actor,
    )


async def test_a_saved_profile_is_what_the_member_reads_back(backend: Backend) -> None:
    member = await backend.member()
    edited = replace(
        member,
        name="王小明",
        email="xm@example.com",
        birthday=date(1990, 5, 1),
        preferred_language="zh-CN",
        consents=frozenset({ConsentChannel.EMAIL, ConsentChannel.PUSH}),
    )
    async with backend.committed() as uow:
        await uow.profiles.save_profile(edited)
    async with backend.new_uow() as uow:
        read = await uow.members.get(member.id)
    assert read is not None
    assert (read.name, read.email, read.birthday, read.preferred_language, read.consents) == (
        "王小明",
        "xm@example.com",
        date(1990, 5, 1),
        "zh-CN",
        frozenset({ConsentChannel.EMAIL, ConsentChannel.PUSH}),
    )


async def test_the_consent_history_pages_newest_first(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        await uow.profiles.add_consent_changes([a_change(member.id, n) for n in (1, 2, 3)])
    async with backend.new_uow() as uow:
        first = await uow.profiles.consent_history(member.id, before_id=None, limit=2)
        assert [c.changed_at for c in first] == [T0 + timedelta(minutes=n) for n in (3, 2)]
        rest = await uow.profiles.consent_history(member.id, before_id=first[-1].id, limit=2)
        assert [c.changed_at for c in rest] == [T0 + timedelta(minutes=1)]


async def test_a_consent_change_of_a_member_who_does_not_exist_is_refused(
    backend: Backend,
) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.profiles.add_consent_changes([a_change(uuid4(), 1)])


async def test_an_admins_consent_change_must_name_the_admin(backend: Backend) -> None:
    member = await backend.member()
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.profiles.add_consent_changes(
                [a_change(member.id, 1, source=ConsentSource.ADMIN)]
            )
