"""The member's profile under concurrency on PostgreSQL: two devices set the birthday at once,
and consent changes from two devices each leave one record per real change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TypeVar

import pytest

from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.use_cases.profile import UpdateMyProfile, update_my_profile
from domain.errors import BirthdayLocked
from domain.members import ConsentChannel
from tests.integration.factories import a_member
from tests.support.fakes import FakeContacts, FixedClock
from tests.support.overlap import race

pytestmark = pytest.mark.db
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
UowFactory = Callable[[], PostgresUnitOfWork]
T = TypeVar("T")


async def outcome(call: Awaitable[T]) -> T | Exception:
    try:
        return await call
    except Exception as error:
        return error


async def _update(uow_factory: UowFactory, command: UpdateMyProfile) -> None:
    async with uow_factory() as uow:
        await update_my_profile(command, uow, clock=FixedClock(NOW), contacts=FakeContacts())
        await uow.commit()


async def test_two_devices_setting_different_birthdays_at_once_set_exactly_one(
    uow_factory: UowFactory, db_url: str
) -> None:
    member = a_member(birthday=None)
    async with uow_factory() as uow:
        await uow.members.add(member)
        await uow.points.open_account(member.id)
        await uow.commit()
    days = [date(1990, 5, 17), date(1991, 6, 18)]

    outcomes, waits = await race(
        db_url,
        [outcome(_update(uow_factory, UpdateMyProfile(member.id, birthday=day))) for day in days],
        gate="points_accounts",
    )

    waits.assert_overlapped("two birthdays at once", at_least=2)
    assert outcomes.count(None) == 1
    assert len([o for o in outcomes if isinstance(o, BirthdayLocked)]) == 1
    async with uow_factory() as uow:
        stored = await uow.members.get(member.id)
    assert stored is not None
    assert stored.birthday == days[outcomes.index(None)]


async def test_concurrent_consent_changes_record_each_real_change_once(
    uow_factory: UowFactory, db_url: str
) -> None:
    member = a_member(birthday=None)
    async with uow_factory() as uow:
        await uow.members.add(member)
        await uow.points.open_account(member.id)
        await uow.commit()
    grant = UpdateMyProfile(member.id, consents={ConsentChannel.SMS: True})

    outcomes, waits = await race(
        db_url, [outcome(_update(uow_factory, grant)) for _ in range(4)], gate="points_accounts"
    )

    waits.assert_overlapped("four grants at once", at_least=4)
    assert outcomes == [None] * 4
    async with uow_factory() as uow:
        history = await uow.profiles.consent_history(member.id, before_id=None, limit=10)
        stored = await uow.members.get(member.id)
    assert [(c.channel, c.granted) for c in history] == [(ConsentChannel.SMS, True)]
    assert stored is not None
    assert stored.consents == frozenset({ConsentChannel.SMS})
