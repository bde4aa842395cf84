"""Reward settings (review and birthday rewards)."""

from __future__ import annotations

from domain.coupon_repositories import BirthdayReward, ReviewReward


class FakeRewardSettingsRepository:
    def __init__(self) -> None:
        self.review = ReviewReward()
        self.birthday = BirthdayReward()

    async def review_reward(self) -> ReviewReward:
        return self.review

    async def save_review_reward(self, settings: ReviewReward) -> None:
        self.review = settings

    async def birthday_reward(self) -> BirthdayReward:
        return self.birthday

    async def save_birthday_reward(self, settings: BirthdayReward) -> None:
        self.birthday = settings
