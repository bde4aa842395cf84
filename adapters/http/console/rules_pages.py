"""Console pages of marketing (issue #19): earning rules.

The list of rules; a rule's page with its form (saving it saves the next version, with the
version it was read at: a form made stale by another save is 409), its schedule, pause /
resume / end; and the forecast: the same form sent to ``simulate_rule`` (as
``POST /v1/admin/earning-rules/simulate``), answering the extra points, members, sales and
cost over a past period, read-only. A bad value is 422 with the field named as the API names
it (``limits.budget``, ``effect.value``), marked on the form.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from adapters.http.console import form_values as fv
from adapters.http.console.controller import Form, _formats, _page, _program
from adapters.http.console.i18n import N_
from adapters.http.console.members_pages import _once
from adapters.http.problems import status_for
from app import transactions
from app.container import Container
from app.permissions import allows
from app.use_cases.earning_rules import (
    RuleDefinition,
    ScheduleRule,
    SetRuleStatus,
    SimulateRule,
    create_rule,
    get_rule,
    list_rules,
    revise_rule,
    schedule_rule,
    set_rule_status,
    simulate_rule,
)
from app.use_cases.staff import actor_of
from app.use_cases.tiers import get_tier_policy
from domain.earning_rules import Conditions, EarningRule, Effect, EffectKind, Limits, RuleStatus
from domain.errors import DomainError, EarningRuleNotFound, InvalidInput
from domain.program import ProgramSettings
from domain.staff import StaffMember

LISTED = 200
FORECAST_DAYS = 30  # the forecast's default period: the last 30 days
LIMITS = ("per_order", "per_member_day", "per_member_week", "per_member_month", "budget")
DAYS = (
    (1, N_("Monday")),
    (2, N_("Tuesday")),
    (3, N_("Wednesday")),
    (4, N_("Thursday")),
    (5, N_("Friday")),
    (6, N_("Saturday")),
    (7, N_("Sunday")),
)
CHANNELS = ("pos", "web")

# The API's field names and the label a page shows for each (msgids).
LABELS = {
    "name": N_("Name"),
    "effect.kind": N_("Effect"),
    "effect.value": N_("Value"),
    "conditions.skus": N_("SKUs"),
    "conditions.categories": N_("Categories"),
    "conditions.channels": N_("Channels"),
    "conditions.tiers": N_("Tiers"),
    "conditions.days_of_week": N_("Days of the week"),
    "conditions.hours": N_("Hours"),
    "conditions.min_payable": N_("Minimum order"),
    "conditions.stores": N_("Stores"),
    "conditions.rfm_segments": N_("RFM segments"),
    "conditions.lifecycle_stages": N_("Lifecycle stages"),
    "limits.per_order": N_("Most points per order"),
    "limits.per_member_day": N_("Most points per member a day"),
    "limits.per_member_week": N_("Most points per member a week"),
    "limits.per_member_month": N_("Most points per member a month"),
    "limits.budget": N_("Budget (points in all)"),
    "priority": N_("Priority"),
    "status": N_("Status"),
    "starts_at": N_("Starts"),
    "ends_at": N_("Ends"),
    "from": N_("First day"),
    "to": N_("Last day"),
}


def _definition(
    data: dict[str, str], program: ProgramSettings, current: EarningRule | None
) -> RuleDefinition:
    """The rule the form describes. Conditions the form does not show (stores, RFM segments,
    lifecycle stages, set through the API) are kept from the version edited."""
    zone = program.time_zone
    kind_text = fv.text(data, "effect_kind")
    if kind_text not in {k.value for k in EffectKind}:
        raise InvalidInput("choose an effect", field="effect.kind")
    kind = EffectKind(kind_text)
    value = fv.decimal(data, "effect_value", "effect.value")
    if value is None and kind is not EffectKind.EXCLUDE:
        raise InvalidInput("effect.value is required", field="effect.value")
    kept = current.conditions if current is not None else Conditions()
    conditions = Conditions(
        skus=fv.words(data, "skus", "conditions.skus"),
        categories=fv.words(data, "categories", "conditions.categories"),
        stores=kept.stores,
        channels=frozenset(c for c in CHANNELS if fv.checked(data, f"channel_{c}")),
        tiers=fv.words(data, "tiers", "conditions.tiers"),
        rfm_segments=kept.rfm_segments,
        lifecycle_stages=kept.lifecycle_stages,
        days_of_week=frozenset(d for d, _ in DAYS if fv.checked(data, f"day_{d}")),
        hours=fv.numbers(data, "hours", "conditions.hours"),
        min_payable=fv.money(
            data, "min_payable", "conditions.min_payable", program.currency_exponent
        )
        or 0,
        first_purchase=fv.checked(data, "first_purchase"),
        birthday_month=fv.checked(data, "birthday_month"),
    )
    limits = Limits(**{name: fv.whole(data, name, f"limits.{name}") for name in LIMITS})
    status_text = fv.text(data, "status") or RuleStatus.ACTIVE.value
    if status_text not in (RuleStatus.ACTIVE.value, RuleStatus.PAUSED.value):
        raise InvalidInput("a rule is saved active or paused", field="status")
    definition = RuleDefinition(
        name=fv.text(data, "name"),
        effect=Effect(kind, value if value is not None else Decimal(0)),
        conditions=conditions,
        limits=limits,
        priority=fv.whole(data, "priority", "priority") or 0,
        exclusive=fv.checked(data, "exclusive"),
        starts_at=fv.when(data, "starts_at", "starts_at", zone),
        ends_at=fv.when(data, "ends_at", "ends_at", zone),
        status=RuleStatus(status_text),
    )
    # The whole rule is validated now, so a page can name the field before anything runs.
    definition.rule(current.id if current else UUID(int=0), 1)
    return definition


def _form_of(rule: EarningRule, program: ProgramSettings) -> dict[str, str]:
    """The form's fields for a rule (what ``_definition`` reads back)."""
    c, zone = rule.conditions, program.time_zone
    form = {
        "name": rule.name,
        "effect_kind": rule.effect.kind.value,
        "effect_value": str(rule.effect.value),
        "skus": ", ".join(sorted(c.skus)),
        "categories": ", ".join(sorted(c.categories)),
        "tiers": ", ".join(sorted(c.tiers)),
        "hours": ", ".join(str(h) for h in sorted(c.hours)),
        "min_payable": fv.major(c.min_payable, program.currency_exponent) if c.min_payable else "",
        "priority": str(rule.priority),
        "starts_at": fv.local(rule.starts_at, zone),
        "ends_at": fv.local(rule.ends_at, zone),
        "status": rule.status.value,
        "version": str(rule.version),
    }
    form.update({f"channel_{ch}": "on" for ch in c.channels})
    form.update({f"day_{d}": "on" for d in c.days_of_week})
    for flag in ("first_purchase", "birthday_month"):
        if getattr(c, flag):
            form[flag] = "on"
    if rule.exclusive:
        form["exclusive"] = "on"
    for name in LIMITS:
        value = getattr(rule.limits, name)
        form[name] = "" if value is None else str(value)
    return form


def _version(data: dict[str, str]) -> int | None:
    return fv.whole(data, "version", "version")


def _forecast_period(data: dict[str, str], zone: str, today: datetime) -> tuple[datetime, datetime]:
    """From the first day's start to the end of the last day, in the programme's time zone."""
    tz = ZoneInfo(zone)

    def day(name: str, default: datetime) -> datetime:
        value = fv.text(data, name)
        try:
            chosen = datetime.fromisoformat(value).date() if value else default.date()
        except ValueError:
            raise InvalidInput(f"{name} must be a date", field=name) from None
        return datetime.combine(chosen, time(), tz)

    local_today = today.astimezone(tz)
    start = day("from", local_today - timedelta(days=FORECAST_DAYS))
    end = day("to", local_today) + timedelta(days=1)
    return start.astimezone(UTC), end.astimezone(UTC)


class RulesPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/earning-rules", operation_id="console.rules.list")
    async def rules(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _rules_page(request, container)

    @post("/earning-rules", operation_id="console.rules.create")
    async def create(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Any:
        staff: StaffMember = request.state.staff
        program = await _program(container)
        try:
            definition = _definition(data, program, None)
        except InvalidInput as invalid:
            return await _rules_page(request, container, 422, form=data, invalid=invalid.field)
        done = await _once(
            request,
            container,
            data,
            repr(definition),
            lambda uow: create_rule(
                definition, actor_of(staff), uow, clock=container.clock, ids=container.ids
            ),
        )
        if done.status_code != 303:
            return await _rules_page(
                request, container, done.status_code, form=data, refused=done.body.decode()
            )
        return Redirect("/console/earning-rules?done=created", status_code=303)

    @post("/earning-rules/forecast", operation_id="console.rules.forecast")
    async def forecast(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        """The form's rule over past sales, read-only: a fragment for htmx, else the page."""
        program = await _program(container)
        fragment = bool(request.headers.get("hx-request"))
        try:
            definition = _definition(data, program, None)
            start, end = _forecast_period(data, program.time_zone, container.clock.now())
            command = SimulateRule(definition, start, end)
            simulation = await container.read(
                lambda uow: simulate_rule(command, uow, ids=container.ids)
            )
        except InvalidInput as invalid:
            if fragment:
                return _forecast(request, program, 422, invalid=invalid.field)
            return await _rules_page(request, container, 422, form=data, invalid=invalid.field)
        if fragment:
            return _forecast(request, program, simulation=simulation, start=start, end=end)
        return await _rules_page(
            request, container, form=data, simulation=simulation, start=start, end=end
        )

    @get("/earning-rules/{rule_id:uuid}", operation_id="console.rules.view")
    async def rule(
        self,
        request: Request[Any, Any, Any],
        rule_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        return await _rule_page(request, container, rule_id)

    @post("/earning-rules/{rule_id:uuid}", operation_id="console.rules.revise")
    async def revise(
        self,
        request: Request[Any, Any, Any],
        rule_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        staff: StaffMember = request.state.staff
        program = await _program(container)
        current = await _current(container, rule_id)
        try:
            definition = _definition(data, program, current)
            expected = _version(data)
        except InvalidInput as invalid:
            return await _rule_page(
                request, container, rule_id, 422, form=data, invalid=invalid.field
            )
        try:
            await transactions.write(
                container.uow,
                lambda uow: revise_rule(
                    rule_id,
                    definition,
                    actor_of(staff),
                    uow,
                    clock=container.clock,
                    expected_version=expected,
                ),
            )
        except DomainError as refused:
            return await _refused(request, container, rule_id, refused)
        return Redirect(f"/console/earning-rules/{rule_id}?done=saved", status_code=303)

    @post("/earning-rules/{rule_id:uuid}/schedule", operation_id="console.rules.schedule")
    async def schedule(
        self,
        request: Request[Any, Any, Any],
        rule_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        staff: StaffMember = request.state.staff
        program = await _program(container)
        try:
            command = ScheduleRule(
                rule_id,
                fv.when(data, "starts_at", "starts_at", program.time_zone),
                fv.when(data, "ends_at", "ends_at", program.time_zone),
                actor_of(staff),
                _version(data),
            )
            await transactions.write(
                container.uow, lambda uow: schedule_rule(command, uow, clock=container.clock)
            )
        except DomainError as refused:
            return await _refused(request, container, rule_id, refused)
        return Redirect(f"/console/earning-rules/{rule_id}?done=scheduled", status_code=303)

    @post("/earning-rules/{rule_id:uuid}/status", operation_id="console.rules.status")
    async def status(
        self,
        request: Request[Any, Any, Any],
        rule_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        """Pause, resume or end (for good) the rule."""
        staff: StaffMember = request.state.staff
        wanted = fv.text(data, "status")
        try:
            if wanted not in {s.value for s in RuleStatus}:
                raise InvalidInput("choose pause, resume or end", field="status")
            command = SetRuleStatus(rule_id, RuleStatus(wanted), actor_of(staff), _version(data))
            await transactions.write(
                container.uow, lambda uow: set_rule_status(command, uow, clock=container.clock)
            )
        except DomainError as refused:
            return await _refused(request, container, rule_id, refused)
        return Redirect(f"/console/earning-rules/{rule_id}?done={wanted}", status_code=303)


async def _current(container: Container, rule_id: UUID) -> EarningRule:
    try:
        return await container.read(lambda uow: get_rule(rule_id, uow))
    except EarningRuleNotFound:
        raise NotFoundException() from None


async def _refused(
    request: Request[Any, Any, Any], container: Container, rule_id: UUID, refused: DomainError
) -> Template:
    field = refused.field if isinstance(refused, InvalidInput) else None
    return await _rule_page(
        request, container, rule_id, status_for(refused), refused=refused.code, invalid=field
    )


def _forecast(
    request: Request[Any, Any, Any],
    program: ProgramSettings,
    status_code: int = 200,
    **context: Any,
) -> Template:
    return _page(
        request,
        "rule_forecast.html",
        _formats(request, program),
        status_code,
        labels=LABELS,
        **context,
    )


async def _shared(request: Request[Any, Any, Any], container: Container) -> dict[str, Any]:
    staff: StaffMember = request.state.staff
    policy = await container.read(get_tier_policy)
    return {
        "can_manage": allows(staff.role, "console.rules.create"),
        "kinds": [k.value for k in EffectKind],
        "tiers": policy.ladder.tiers,
        "labels": LABELS,
        "limits": LIMITS,
        "days": DAYS,
        "once": secrets.token_urlsafe(18),
        "channels": CHANNELS,
        "done": str(request.query_params.get("done", ""))[:20],
    }


async def _rules_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    **context: Any,
) -> Template:
    program = await _program(container)
    rules = await container.read(lambda uow: list_rules(uow, after=None, limit=LISTED))
    context.setdefault("form", {"effect_kind": EffectKind.MULTIPLIER.value, "status": "active"})
    return _page(
        request,
        "earning_rules.html",
        _formats(request, program),
        status_code,
        rules=rules,
        now=container.clock.now(),
        **(await _shared(request, container)),
        **context,
    )


async def _rule_page(
    request: Request[Any, Any, Any],
    container: Container,
    rule_id: UUID,
    status_code: int = 200,
    **context: Any,
) -> Template:
    program = await _program(container)
    rule = await _current(container, rule_id)
    if "form" in context:
        # A refused form is shown as sent, at the version it was read at.
        context["form"] = {**context["form"], "version": context["form"].get("version", "")}
    else:
        context["form"] = _form_of(rule, program)
    schedule = {
        "starts_at": fv.local(rule.starts_at, program.time_zone),
        "ends_at": fv.local(rule.ends_at, program.time_zone),
    }
    return _page(
        request,
        "earning_rule.html",
        _formats(request, program),
        status_code,
        rule=rule,
        schedule=schedule,
        now=container.clock.now(),
        **(await _shared(request, container)),
        **context,
    )


# Values the pages translate by name.
TRANSLATED_BY_VALUE = (
    N_("multiplier"),
    N_("earn_rate"),
    N_("bonus_per_order"),
    N_("bonus_per_unit"),
    N_("exclude"),
    N_("paused"),
    N_("ended"),
    N_("scheduled"),
    N_("live"),
    N_("Earning rules"),
    N_("pos"),
    N_("web"),
    N_("active"),
)
