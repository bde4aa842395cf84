"""The contracts of the settings ports: the programme and the reward settings."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from uuid import UUID

from domain.coupon_repositories import BirthdayReward, ReviewReward
from domain.program import DEFAULT_PROGRAM
from tests.integration.contracts.conftest import Backend
from tests.integration.contracts.test_coupon_repository import TEMPLATE


async def test_the_programme_starts_at_its_defaults_and_saves(backend: Backend) -> None:
    async with backend.committed() as uow:
        assert await uow.program.get() == DEFAULT_PROGRAM
        current = await uow.program.get_for_update()
        await uow.program.save(replace(current, earn_rate=Decimal("2")))
    async with backend.new_uow() as uow:
        assert (await uow.program.get()).earn_rate == Decimal("2")


async def test_reward_settings_start_off_and_save(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.coupon_templates.add(TEMPLATE)
        assert await uow.rewards.review_reward() == ReviewReward()
        assert await uow.rewards.birthday_reward() == BirthdayReward()
        await uow.rewards.save_review_reward(ReviewReward(True, 4, TEMPLATE.id, 1))
        await uow.rewards.save_birthday_reward(BirthdayReward(True, TEMPLATE.id, 3, 1))
    async with backend.new_uow() as uow:
        assert await uow.rewards.review_reward() == ReviewReward(True, 4, TEMPLATE.id, 1)
        assert await uow.rewards.birthday_reward() == BirthdayReward(True, TEMPLATE.id, 3, 1)


async def test_a_reward_of_a_template_that_does_not_exist_is_refused(backend: Backend) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.rewards.save_review_reward(ReviewReward(True, 4, UUID(int=404), 1))
