"""Reward settings (review and birthday rewards)."""

from __future__ import annotations

from uuid import UUID

from domain.coupon_repositories import BirthdayReward, ReviewReward
from tests.support.fakes.common import Linked, require


class FakeRewardSettingsRepository(Linked):
    """The review and birthday rewards; the coupon template each names must exist."""

    def __init__(self) -> None:
        self.review = ReviewReward()
        self.birthday = BirthdayReward()

    async def review_reward(self) -> ReviewReward:
        return self.review

    def _require_template(self, template_id: UUID | None) -> None:
        templates = self.db.coupon_templates.templates
        require(template_id is None or template_id in templates, "reward_settings_template_id_fkey")

    async def save_review_reward(self, settings: ReviewReward) -> None:
        self._require_template(settings.template_id)
        self.review = settings

    async def birthday_reward(self) -> BirthdayReward:
        return self.birthday

    async def save_birthday_reward(self, settings: BirthdayReward) -> None:
        self._require_template(settings.template_id)
        self.birthday = settings
