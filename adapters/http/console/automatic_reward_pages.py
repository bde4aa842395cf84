"""Console page of marketing (issue #18): the automatic rewards, a coupon for a good review of
one's own order and a coupon before one's birthday.

The page reads and saves them through the same use cases as /v1/admin/review-reward and
/v1/admin/birthday-reward (``get_/set_review_reward``, ``get_/set_birthday_reward``): the
rules (a rating of 1-5, days ahead within the limit, an enabled reward names a template that
exists) are theirs, and each change is audited there.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from adapters.http.console.controller import Form, _formats, _page, _program
from app import transactions
from app.container import Container
from app.permissions import allows
from app.use_cases.birthdays import (
    MAX_DAYS_AHEAD,
    get_birthday_reward,
    set_birthday_reward,
)
from app.use_cases.coupon_templates import list_templates
from app.use_cases.review_rewards import get_review_reward, set_review_reward
from app.use_cases.staff import actor_of
from domain.errors import DomainError, InvalidInput
from domain.staff import StaffMember

TEMPLATES_OFFERED = 200  # the newest templates offered in the select


def _template(text: str) -> UUID | None:
    try:
        return UUID(text.strip()) if text.strip() else None
    except ValueError:
        raise InvalidInput("choose a coupon template", field="template_id") from None


def _whole(text: str, field: str) -> int:
    try:
        return int(text.strip()[:6])
    except ValueError:
        raise InvalidInput(f"{field} is a whole number", field=field) from None


class AutomaticRewardPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/automatic-rewards", operation_id="console.automatic_rewards.view")
    async def view(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _rewards_page(request, container, saved=request.query_params.get("saved"))

    @post("/automatic-rewards/review", operation_id="console.automatic_rewards.review")
    async def save_review(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template | Redirect:
        staff: StaffMember = request.state.staff
        try:
            enabled = data.get("enabled") == "on"
            rating = _whole(str(data.get("min_rating", "")), "min_rating")
            template_id = _template(str(data.get("template_id", "")))
            await transactions.write(
                container.uow,
                lambda uow: set_review_reward(enabled, rating, template_id, actor_of(staff), uow),
            )
        except DomainError as error:
            return await _rewards_page(request, container, refused=("review", error), status=422)
        return Redirect("/console/automatic-rewards?saved=review", status_code=303)

    @post("/automatic-rewards/birthday", operation_id="console.automatic_rewards.birthday")
    async def save_birthday(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template | Redirect:
        staff: StaffMember = request.state.staff
        try:
            enabled = data.get("enabled") == "on"
            days = _whole(str(data.get("days_ahead", "")), "days_ahead")
            template_id = _template(str(data.get("template_id", "")))
            await transactions.write(
                container.uow,
                lambda uow: set_birthday_reward(enabled, template_id, days, actor_of(staff), uow),
            )
        except DomainError as error:
            return await _rewards_page(request, container, refused=("birthday", error), status=422)
        return Redirect("/console/automatic-rewards?saved=birthday", status_code=303)


async def _rewards_page(
    request: Request[Any, Any, Any],
    container: Container,
    *,
    saved: str | None = None,
    refused: tuple[str, DomainError] | None = None,
    status: int = 200,
) -> Template:
    async def load(uow: Any) -> tuple[Any, Any, Any]:
        review = await get_review_reward(uow)
        birthday = await get_birthday_reward(uow)
        templates = await list_templates(uow, after=None, limit=TEMPLATES_OFFERED)
        return review, birthday, templates

    review, birthday, templates = await transactions.read(container.uow, load)
    staff: StaffMember = request.state.staff
    program = await _program(container)
    return _page(
        request,
        "automatic_rewards.html",
        _formats(request, program),
        status,
        review=review,
        birthday=birthday,
        templates=[t for t in templates if t.retired_at is None],
        all_templates={t.id: t for t in templates},
        max_days_ahead=MAX_DAYS_AHEAD,
        can_edit=allows(staff.role, "console.automatic_rewards.review"),
        saved=saved if saved in ("review", "birthday") else None,
        refused_form=refused[0] if refused else None,
        refused_code=refused[1].code if refused else None,
        refused_field=getattr(refused[1], "field", None) if refused else None,
    )
