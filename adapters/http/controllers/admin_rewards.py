"""The automatic rewards admins switch on: a coupon for a good review, one for a birthday."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.schemas.coupons import BirthdayRewardIo, ReviewRewardIo
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.birthdays import get_birthday_reward, set_birthday_reward
from app.use_cases.review_rewards import get_review_reward, set_review_reward


class AdminReviewRewardController(Controller):
    path = "/review-reward"
    tags = ["admin", "coupons"]

    @get(
        operation_id="getReviewReward",
        summary="The coupon a good review of one's own order earns",
        responses=problems(401, 403),
    )
    async def show(self, container: NamedDependency[Container]) -> ReviewRewardIo:
        return ReviewRewardIo.of(await transactions.read(container.uow, get_review_reward))

    @put(
        operation_id="updateReviewReward",
        summary="Switch the review reward on or off, set its minimum rating and template",
        responses=problems(401, 403, 404, 422),
    )
    async def update(
        self,
        data: JSONBody[ReviewRewardIo],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> ReviewRewardIo:
        settings = await transactions.write(
            container.uow,
            lambda uow: set_review_reward(
                data.enabled, data.min_rating, data.template_id, principal.actor, uow
            ),
        )
        return ReviewRewardIo.of(settings)


class AdminBirthdayRewardController(Controller):
    path = "/birthday-reward"
    tags = ["admin", "coupons"]

    @get(
        operation_id="getBirthdayReward",
        summary="The coupon members get before their birthday",
        responses=problems(401, 403),
    )
    async def show(self, container: NamedDependency[Container]) -> BirthdayRewardIo:
        return BirthdayRewardIo.of(await transactions.read(container.uow, get_birthday_reward))

    @put(
        operation_id="updateBirthdayReward",
        summary="Switch birthday coupons on or off, set the template and how early they go out",
        responses=problems(401, 403, 404, 422),
    )
    async def update(
        self,
        data: JSONBody[BirthdayRewardIo],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> BirthdayRewardIo:
        settings = await transactions.write(
            container.uow,
            lambda uow: set_birthday_reward(
                data.enabled, data.template_id, data.days_ahead, principal.actor, uow
            ),
        )
        return BirthdayRewardIo.of(settings)
