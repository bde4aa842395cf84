"""Console pages of coupon templates (issue #18): the list with what each has issued, a
template defined with every field /v1/admin takes, and its next version (a revision: coupons
already issued keep their terms). Through ``create_template`` and ``revise_template``, as
``createCouponTemplate`` and ``reviseCouponTemplate``; a refusal names the field at fault."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from adapters.http.console.controller import Form, _formats, _page, _program
from adapters.http.console.forms import (
    FieldError,
    fault_of,
    integer,
    local_input,
    minor_units,
    optional_integer,
    optional_local_time,
    shown,
    text,
)
from adapters.http.console.i18n import N_
from app import transactions
from app.container import Container
from app.permissions import allows
from app.use_cases.coupon_templates import (
    TemplateDefinition,
    create_template,
    get_template,
    list_templates,
    redeemed_counts,
    revise_template,
)
from app.use_cases.staff import actor_of
from domain.coupons import CouponKind, CouponTemplate, CouponTerms, Validity
from domain.errors import DomainError
from domain.program import ProgramSettings
from domain.sales import IN_STORE, ONLINE
from domain.staff import StaffMember

LISTED = 200
TEMPLATE_NAME = N_("Template name")
CHANNELS = (IN_STORE, ONLINE)


def _definition(data: dict[str, str], program: ProgramSettings) -> TemplateDefinition:
    """The form as the API's ``CouponTemplateIn`` would give it (money in major units)."""
    try:
        kind = CouponKind(text(data, "kind", 20))
    except ValueError:
        raise FieldError("kind") from None
    exponent = program.currency_exponent
    value = (
        minor_units(data, "value", exponent) if kind is CouponKind.FIXED else integer(data, "value")
    )
    categories = frozenset(
        c.strip()[:64] for c in text(data, "categories", 4000).split(",") if c.strip()
    )
    terms = CouponTerms(
        kind=kind,
        value=value,
        min_spend=minor_units(data, "min_spend", exponent),
        channels=frozenset(c for c in CHANNELS if data.get(f"channel_{c}")),
        stackable=bool(data.get("stackable")),
        categories=categories,
    )
    validity = Validity(
        optional_integer(data, "valid_days"),
        optional_local_time(data, "valid_from", program.time_zone),
        optional_local_time(data, "valid_until", program.time_zone),
    )
    return TemplateDefinition(
        name=text(data, "name", 200),
        terms=terms,
        validity=validity,
        per_member_limit=optional_integer(data, "per_member_limit"),
        total_limit=optional_integer(data, "total_limit"),
    )


def _values(template: CouponTemplate, program: ProgramSettings) -> dict[str, Any]:
    """A template as its form shows it."""
    terms, validity = template.terms, template.validity
    major = str(terms.value)
    if terms.kind is CouponKind.FIXED:
        major = str(_major(terms.value, program))
    return {
        "name": template.name,
        "kind": terms.kind.value,
        "value": major,
        "min_spend": _major(terms.min_spend, program),
        "valid_days": validity.valid_days or "",
        "valid_from": local_input(validity.valid_from, program.time_zone),
        "valid_until": local_input(validity.valid_until, program.time_zone),
        "per_member_limit": template.per_member_limit or "",
        "total_limit": template.total_limit or "",
        "channels": sorted(terms.channels),
        "stackable": terms.stackable,
        "categories": ", ".join(sorted(terms.categories)),
    }


def _major(minor: int, program: ProgramSettings) -> str:
    return str(Decimal(minor).scaleb(-program.currency_exponent))


def _typed(data: dict[str, str]) -> dict[str, Any]:
    """The form as typed, to show it again with its fault."""
    values: dict[str, Any] = {
        k: shown(data, k, 4000)
        for k in (
            "name", "kind", "value", "min_spend", "valid_days", "valid_from", "valid_until",
            "per_member_limit", "total_limit", "categories",
        )
    }  # fmt: skip
    values["channels"] = [c for c in CHANNELS if data.get(f"channel_{c}")]
    values["stackable"] = bool(data.get("stackable"))
    return values


BLANK = {"kind": "fixed", "channels": list(CHANNELS), "valid_days": "30", "min_spend": "0"}


class CouponTemplatePages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/coupon-templates", operation_id="console.coupon_templates.list")
    async def index(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _list_page(request, container)

    @post("/coupon-templates", operation_id="console.coupon_templates.create")
    async def create(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Any:
        staff: StaffMember = request.state.staff
        program = await _program(container)
        try:
            definition = _definition(data, program)
            template = await transactions.write(
                container.uow,
                lambda uow: create_template(
                    definition, actor_of(staff), uow, clock=container.clock, ids=container.ids
                ),
            )
        except (FieldError, DomainError) as refused:
            return await _list_page(
                request, container, 422, fault=fault_of(refused, TEMPLATE_NAME), values=_typed(data)
            )
        return Redirect(
            f"/console/coupon-templates/{template.id}", query_params={"saved": "1"}, status_code=303
        )

    @get("/coupon-templates/{template_id:uuid}", operation_id="console.coupon_templates.view")
    async def view(
        self,
        request: Request[Any, Any, Any],
        template_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        return await _edit_page(
            request, container, template_id, saved=request.query_params.get("saved") == "1"
        )

    @post("/coupon-templates/{template_id:uuid}", operation_id="console.coupon_templates.revise")
    async def revise(
        self,
        request: Request[Any, Any, Any],
        template_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        staff: StaffMember = request.state.staff
        program = await _program(container)
        try:
            definition = _definition(data, program)
            await transactions.write(
                container.uow,
                lambda uow: revise_template(
                    template_id, definition, actor_of(staff), uow, clock=container.clock
                ),
            )
        except (FieldError, DomainError) as refused:
            return await _edit_page(
                request,
                container,
                template_id,
                422,
                fault=fault_of(refused, TEMPLATE_NAME),
                values=_typed(data),
            )
        return Redirect(
            f"/console/coupon-templates/{template_id}", query_params={"saved": "1"}, status_code=303
        )


async def _list_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    **context: Any,
) -> Template:
    staff: StaffMember = request.state.staff
    templates = await container.read(lambda uow: list_templates(uow, after=None, limit=LISTED))
    ids = [t.id for t in templates]
    redeemed = await container.read(lambda uow: redeemed_counts(ids, uow))
    program = await _program(container)
    context.setdefault("values", BLANK)
    return _page(
        request,
        "coupon_templates.html",
        _formats(request, program),
        status_code,
        templates=templates,
        redeemed=redeemed,
        channels=CHANNELS,
        currency=program.currency,
        can_manage=allows(staff.role, "console.coupon_templates.create"),
        **context,
    )


async def _edit_page(
    request: Request[Any, Any, Any],
    container: Container,
    template_id: UUID,
    status_code: int = 200,
    **context: Any,
) -> Template:
    staff: StaffMember = request.state.staff
    program = await _program(container)
    try:
        template = await container.read(lambda uow: get_template(template_id, uow))
    except DomainError:
        return _page(
            request, "coupon_template.html", _formats(request, program), 404, template=None
        )
    redeemed = await container.read(lambda uow: redeemed_counts([template.id], uow))
    context.setdefault("values", _values(template, program))
    return _page(
        request,
        "coupon_template.html",
        _formats(request, program),
        status_code,
        template=template,
        redeemed=redeemed[template.id],
        channels=CHANNELS,
        currency=program.currency,
        can_manage=allows(staff.role, "console.coupon_templates.revise"),
        **context,
    )
