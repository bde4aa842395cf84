"""Console pages of the reward catalogue (issue #19): rewards and their redemptions.

Marketing defines rewards (points, or points plus a cash price paid at the till; a coupon
from a template or an item with a fulfilment code; stock, per-member limit, availability
window, tiers), edits them (the next version) and retires them, through the use cases
``POST /v1/admin/catalogue-rewards`` runs. The redemptions page belongs with the members
(service agents and owners, as ``getRewardRedemption`` and ``cancelRewardRedemption``): the
latest redemptions, one looked up by the fulfilment code a member reads out, and cancelling
an unused one with a reason (points back in their lots, stock back).
"""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from adapters.http.console import form_values as fv
from adapters.http.console.controller import Form, _formats, _page, _program
from adapters.http.console.i18n import N_
from adapters.http.console.members_pages import _once
from adapters.http.problems import status_for
from app import transactions
from app.container import Container
from app.permissions import allows
from app.use_cases.coupon_templates import list_templates
from app.use_cases.reward_catalogue import (
    CancelRedemption,
    RetireReward,
    cancel_redemption,
    create_reward,
    get_reward,
    list_rewards,
    recent_redemptions,
    retire_reward,
    revise_reward,
)
from app.use_cases.reward_collection import FindRedemptionByCode, find_redemption_by_code
from app.use_cases.staff import actor_of
from app.use_cases.tiers import get_tier_policy
from domain.errors import CatalogueRewardNotFound, DomainError, InvalidInput
from domain.program import ProgramSettings
from domain.reward_catalogue import CatalogueReward, CatalogueRewardKind, RewardOffer
from domain.staff import StaffMember

LISTED = 200

LABELS = {
    "name": N_("Name"),
    "description": N_("Description"),
    "kind": N_("Kind"),
    "points_cost": N_("Points"),
    "cash_price": N_("Cash price at the till"),
    "coupon_template_id": N_("Coupon template"),
    "stock": N_("Stock"),
    "per_member_limit": N_("Limit per member"),
    "available_from": N_("Available from"),
    "available_until": N_("Available until"),
    "tiers": N_("Tiers"),
    "reason": N_("Reason"),
}


def _offer(data: dict[str, str], program: ProgramSettings, tier_codes: list[str]) -> RewardOffer:
    kind_text = fv.text(data, "kind")
    if kind_text not in {k.value for k in CatalogueRewardKind}:
        raise InvalidInput("choose coupon or item", field="kind")
    kind = CatalogueRewardKind(kind_text)
    template_text = fv.text(data, "coupon_template_id")
    template_id = None
    if kind is CatalogueRewardKind.COUPON and template_text:
        try:
            template_id = UUID(template_text)
        except ValueError:
            raise InvalidInput("choose a coupon template", field="coupon_template_id") from None
    points = fv.whole(data, "points_cost", "points_cost")
    zone = program.time_zone
    # RewardOffer validates the whole of it, naming the field at fault.
    return RewardOffer(
        name=fv.text(data, "name"),
        kind=kind,
        points_cost=points if points is not None else 0,
        cash_price=fv.money(data, "cash_price", "cash_price", program.currency_exponent) or 0,
        coupon_template_id=template_id,
        stock=fv.whole(data, "stock", "stock"),
        per_member_limit=fv.whole(data, "per_member_limit", "per_member_limit"),
        available_from=fv.when(data, "available_from", "available_from", zone),
        available_until=fv.when(data, "available_until", "available_until", zone),
        tiers=frozenset(t for t in tier_codes if fv.checked(data, f"tier_{t}")),
        description=fv.text(data, "description"),
    )


def _form_of(reward: CatalogueReward, program: ProgramSettings) -> dict[str, str]:
    offer, zone = reward.offer, program.time_zone
    form = {
        "name": offer.name,
        "description": offer.description,
        "kind": offer.kind.value,
        "points_cost": str(offer.points_cost),
        "cash_price": fv.major(offer.cash_price, program.currency_exponent)
        if offer.cash_price
        else "",
        "coupon_template_id": str(offer.coupon_template_id or ""),
        "stock": "" if offer.stock is None else str(offer.stock),
        "per_member_limit": "" if offer.per_member_limit is None else str(offer.per_member_limit),
        "available_from": fv.local(offer.available_from, zone),
        "available_until": fv.local(offer.available_until, zone),
    }
    form.update({f"tier_{t}": "on" for t in offer.tiers})
    return form


class RewardsPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/rewards", operation_id="console.rewards.list")
    async def rewards(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _rewards_page(request, container)

    @post("/rewards", operation_id="console.rewards.create")
    async def create(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Any:
        staff: StaffMember = request.state.staff
        program = await _program(container)
        try:
            offer = _offer(data, program, await _tier_codes(container))
        except InvalidInput as invalid:
            return await _rewards_page(request, container, 422, form=data, invalid=invalid.field)
        done = await _once(
            request,
            container,
            data,
            repr(offer),
            lambda uow: create_reward(
                offer, actor_of(staff), uow, clock=container.clock, ids=container.ids
            ),
        )
        if done.status_code != 303:
            return await _rewards_page(
                request, container, done.status_code, form=data, refused=done.body.decode()
            )
        return Redirect("/console/rewards?done=created", status_code=303)

    @get("/rewards/{reward_id:uuid}", operation_id="console.rewards.view")
    async def reward(
        self,
        request: Request[Any, Any, Any],
        reward_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        return await _reward_page(request, container, reward_id)

    @post("/rewards/{reward_id:uuid}", operation_id="console.rewards.revise")
    async def revise(
        self,
        request: Request[Any, Any, Any],
        reward_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        staff: StaffMember = request.state.staff
        program = await _program(container)
        try:
            offer = _offer(data, program, await _tier_codes(container))
            await transactions.write(
                container.uow,
                lambda uow: revise_reward(
                    reward_id, offer, actor_of(staff), uow, clock=container.clock
                ),
            )
        except CatalogueRewardNotFound:
            raise NotFoundException() from None
        except DomainError as refused:
            field = refused.field if isinstance(refused, InvalidInput) else None
            return await _reward_page(
                request,
                container,
                reward_id,
                status_for(refused),
                form=data,
                invalid=field,
                refused=refused.code,
            )
        return Redirect(f"/console/rewards/{reward_id}?done=saved", status_code=303)

    @post("/rewards/{reward_id:uuid}/retire", operation_id="console.rewards.retire")
    async def retire(
        self,
        request: Request[Any, Any, Any],
        reward_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        staff: StaffMember = request.state.staff
        command = RetireReward(reward_id, actor_of(staff), fv.text(data, "reason")[:500] or None)
        try:
            await transactions.write(
                container.uow, lambda uow: retire_reward(command, uow, clock=container.clock)
            )
        except CatalogueRewardNotFound:
            raise NotFoundException() from None
        return Redirect(f"/console/rewards/{reward_id}?done=retired", status_code=303)

    @get("/redemptions", operation_id="console.redemptions.list")
    async def redemptions(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
        code: FromQuery[str] = "",
    ) -> Template:
        return await _redemptions_page(request, container, code=code[:32].strip())

    @post("/redemptions/{redemption_id:uuid}/cancel", operation_id="console.redemptions.cancel")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        redemption_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        """Points back in their lots, stock back, the coupon withdrawn (once per form)."""
        staff: StaffMember = request.state.staff
        reason = fv.text(data, "reason")[:501]
        command = CancelRedemption(redemption_id, actor_of(staff), reason)
        done = await _once(
            request,
            container,
            data,
            reason,
            lambda uow: cancel_redemption(command, uow, clock=container.clock),
        )
        if done.status_code != 303:
            refused = done.body.decode()
            return await _redemptions_page(
                request,
                container,
                done.status_code,
                refused=refused,
                invalid="reason" if refused == InvalidInput.code else None,
            )
        return Redirect("/console/redemptions?done=cancelled", status_code=303)


async def _tier_codes(container: Container) -> list[str]:
    policy = await container.read(get_tier_policy)
    return [t.code for t in policy.ladder.tiers]


async def _shared(request: Request[Any, Any, Any], container: Container) -> dict[str, Any]:
    staff: StaffMember = request.state.staff
    policy = await container.read(get_tier_policy)
    templates = await container.read(lambda uow: list_templates(uow, after=None, limit=LISTED))
    return {
        "can_manage": allows(staff.role, "console.rewards.create"),
        "kinds": [k.value for k in CatalogueRewardKind],
        "tiers": policy.ladder.tiers,
        "templates": [t for t in templates if t.active],
        "labels": LABELS,
        "once": secrets.token_urlsafe(18),
        "done": str(request.query_params.get("done", ""))[:20],
    }


async def _rewards_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    **context: Any,
) -> Template:
    program = await _program(container)
    rewards = await container.read(lambda uow: list_rewards(uow, after=None, limit=LISTED))
    context.setdefault("form", {"kind": CatalogueRewardKind.ITEM.value})
    return _page(
        request,
        "rewards.html",
        _formats(request, program),
        status_code,
        rewards=rewards,
        now=container.clock.now(),
        **(await _shared(request, container)),
        **context,
    )


async def _reward_page(
    request: Request[Any, Any, Any],
    container: Container,
    reward_id: UUID,
    status_code: int = 200,
    **context: Any,
) -> Template:
    program = await _program(container)
    try:
        reward = await container.read(lambda uow: get_reward(reward_id, uow))
    except CatalogueRewardNotFound:
        raise NotFoundException() from None
    context.setdefault("form", _form_of(reward, program))
    return _page(
        request,
        "reward.html",
        _formats(request, program),
        status_code,
        reward=reward,
        now=container.clock.now(),
        **(await _shared(request, container)),
        **context,
    )


async def _redemptions_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    *,
    code: str = "",
    **context: Any,
) -> Template:
    staff: StaffMember = request.state.staff
    program = await _program(container)
    found = None
    if code:
        try:
            found = [
                await container.read(
                    lambda uow: find_redemption_by_code(FindRedemptionByCode(code), uow),
                )
            ]
        except DomainError:
            found = []
    redemptions = (
        found
        if found is not None
        else await container.read(lambda uow: recent_redemptions(uow, after=None, limit=LISTED))
    )
    return _page(
        request,
        "redemptions.html",
        _formats(request, program),
        status_code,
        redemptions=redemptions,
        code=code,
        looked_up=found is not None,
        can_cancel=allows(staff.role, "console.redemptions.cancel"),
        labels=LABELS,
        once=secrets.token_urlsafe(18),
        done=str(request.query_params.get("done", ""))[:20],
        **context,
    )


# Values the pages translate by name.
TRANSLATED_BY_VALUE = (
    N_("coupon"),
    N_("item"),
    N_("issued"),
    N_("fulfilled"),
    N_("cancelled"),
    N_("retired"),
    N_("Rewards"),
    N_("Redemptions"),
)
