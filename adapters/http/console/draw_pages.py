"""Console pages of prize draws (issue #18): campaigns listed with their window, one defined
with its prize table (prizes, weights, stock, the coupon each gives), the odds as a member
reads them (``current_odds``, the function the draw itself uses: an out-of-stock prize drops
out and the other weights are renormalised), the stock left, an edit while it has not
started and an early end. Through ``create_campaign``, ``edit_campaign`` and
``end_campaign``, as ``createDrawCampaign``, ``editDrawCampaign`` and ``endDrawCampaign``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
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
    local_time,
    minor_units,
    shown,
    text,
)
from adapters.http.console.i18n import N_
from app import transactions
from app.container import Container
from app.permissions import allows
from app.use_cases.coupon_templates import list_templates
from app.use_cases.draws import (
    NewCampaign,
    campaign_plays,
    create_campaign,
    current_odds,
    edit_campaign,
    end_campaign,
    list_campaigns,
)
from app.use_cases.staff import actor_of
from domain.draws import MAX_PRIZES, ChanceRule, DrawCampaign, Prize
from domain.errors import DomainError
from domain.program import ProgramSettings
from domain.staff import StaffMember

LISTED = 200
BLANK_ROWS = 3  # empty prize rows under the filled ones; a row left empty is no prize
FIELDS = ("code", "name", "weight", "stock", "template")


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        raise FieldError("prizes.template_id") from None


def _prizes(data: dict[str, str]) -> list[Prize]:
    prizes = []
    for i in range(MAX_PRIZES):
        row = {f: text(data, f"prize_{f}_{i}", 200) for f in FIELDS}
        if not any(row.values()):
            continue
        try:
            weight = int(row["weight"])
        except ValueError:
            raise FieldError("prizes.weight") from None
        try:
            stock = int(row["stock"]) if row["stock"] else None
        except ValueError:
            raise FieldError("prizes.stock") from None
        prizes.append(Prize(row["code"], row["name"], weight, _uuid(row["template"]), stock))
    return prizes


def _command(data: dict[str, str], program: ProgramSettings) -> NewCampaign:
    try:
        chances = ChanceRule(text(data, "chances", 20))
    except ValueError:
        raise FieldError("chances") from None
    return NewCampaign(
        name=text(data, "name", 200),
        threshold=minor_units(data, "threshold", program.currency_exponent),
        chances=chances,
        chance_valid_days=integer(data, "chance_valid_days"),
        starts_at=local_time(data, "starts_at", program.time_zone),
        ends_at=local_time(data, "ends_at", program.time_zone),
        prizes=_prizes(data),
    )


def _rows_typed(data: dict[str, str]) -> list[dict[str, str]]:
    rows = [{f: shown(data, f"prize_{f}_{i}", 200) for f in FIELDS} for i in range(MAX_PRIZES)]
    filled = [r for r in rows if any(r.values())]
    return filled + [dict.fromkeys(FIELDS, "") for _ in range(BLANK_ROWS)]


def _typed(data: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        k: shown(data, k, 200)
        for k in ("name", "threshold", "chances", "chance_valid_days", "starts_at", "ends_at")
    }
    values["prizes"] = _rows_typed(data)
    return values


def _values(campaign: DrawCampaign, program: ProgramSettings) -> dict[str, Any]:
    rows = [
        {
            "code": p.code,
            "name": p.name,
            "weight": str(p.weight),
            "stock": "" if p.stock is None else str(p.stock),
            "template": str(p.template_id or ""),
        }
        for p in campaign.prizes
    ]
    return {
        "name": campaign.name,
        "threshold": str(Decimal(campaign.threshold).scaleb(-program.currency_exponent)),
        "chances": campaign.chances.value,
        "chance_valid_days": str(campaign.chance_valid_days),
        "starts_at": local_input(campaign.starts_at, program.time_zone),
        "ends_at": local_input(campaign.ends_at, program.time_zone),
        "prizes": rows + [dict.fromkeys(FIELDS, "") for _ in range(BLANK_ROWS)],
    }


BLANK = {
    "chances": "one",
    "chance_valid_days": "30",
    "prizes": [dict.fromkeys(FIELDS, "") for _ in range(BLANK_ROWS + 1)],
}


def percent(probability: Fraction) -> str:
    """An exact probability in percent to two places (Decimal from the fraction, no float)."""
    value = Decimal(probability.numerator) * 100 / Decimal(probability.denominator)
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def state_of(campaign: DrawCampaign, now: Any) -> str:
    if now < campaign.starts_at:
        return N_("not started")
    if campaign.runs_at(now):
        return N_("running")
    return N_("ended")


class DrawPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/draws", operation_id="console.draws.list")
    async def index(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _list_page(request, container)

    @post("/draws", operation_id="console.draws.create")
    async def create(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Any:
        staff: StaffMember = request.state.staff
        program = await _program(container)
        try:
            command = _command(data, program)
            campaign = await transactions.write(
                container.uow,
                lambda uow: create_campaign(
                    command, actor_of(staff), uow, clock=container.clock, ids=container.ids
                ),
            )
        except (FieldError, DomainError) as refused:
            return await _list_page(
                request,
                container,
                422,
                fault=fault_of(refused, N_("Draw name")),
                values=_typed(data),
            )
        return Redirect(
            f"/console/draws/{campaign.id}", query_params={"saved": "1"}, status_code=303
        )

    @get("/draws/{campaign_id:uuid}", operation_id="console.draws.view")
    async def view(
        self,
        request: Request[Any, Any, Any],
        campaign_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        return await _campaign_page(
            request, container, campaign_id, saved=request.query_params.get("saved") == "1"
        )

    @post("/draws/{campaign_id:uuid}", operation_id="console.draws.edit")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        campaign_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        """Only before it starts (then 409 draw_campaign_started, as the API)."""
        staff: StaffMember = request.state.staff
        program = await _program(container)
        try:
            command = _command(data, program)
            await transactions.write(
                container.uow,
                lambda uow: edit_campaign(
                    campaign_id, command, actor_of(staff), uow, clock=container.clock
                ),
            )
        except (FieldError, DomainError) as refused:
            status = 409 if getattr(refused, "code", "") == "draw_campaign_started" else 422
            return await _campaign_page(
                request,
                container,
                campaign_id,
                status,
                fault=fault_of(refused, N_("Draw name")),
                refused=getattr(refused, "code", "validation_error"),
                values=_typed(data),
            )
        return Redirect(
            f"/console/draws/{campaign_id}", query_params={"saved": "1"}, status_code=303
        )

    @post("/draws/{campaign_id:uuid}/end", operation_id="console.draws.end")
    async def end(
        self,
        request: Request[Any, Any, Any],
        campaign_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        """Ends a running campaign now: no more chances; those earned stay playable."""
        staff: StaffMember = request.state.staff
        try:
            reason = text(data, "reason", 500) or None
            await transactions.write(
                container.uow,
                lambda uow: end_campaign(
                    campaign_id, actor_of(staff), uow, clock=container.clock, reason=reason
                ),
            )
        except FieldError:
            return await _campaign_page(
                request, container, campaign_id, 422, fault=N_("Reason (kept in the audit log)")
            )
        except DomainError as refused:
            return await _campaign_page(request, container, campaign_id, 409, refused=refused.code)
        return Redirect(
            f"/console/draws/{campaign_id}", query_params={"ended": "1"}, status_code=303
        )


async def _templates(container: Container) -> list[Any]:
    templates = await container.read(lambda uow: list_templates(uow, after=None, limit=LISTED))
    return [t for t in templates if t.active]


async def _list_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    **context: Any,
) -> Template:
    staff: StaffMember = request.state.staff
    campaigns = await container.read(lambda uow: list_campaigns(uow, after=None, limit=LISTED))
    program = await _program(container)
    now = container.clock.now()
    context.setdefault("values", BLANK)
    return _page(
        request,
        "draws.html",
        _formats(request, program),
        status_code,
        campaigns=[(c, state_of(c, now)) for c in campaigns],
        templates=await _templates(container),
        currency=program.currency,
        can_manage=allows(staff.role, "console.draws.create"),
        **context,
    )


async def _campaign_page(
    request: Request[Any, Any, Any],
    container: Container,
    campaign_id: UUID,
    status_code: int = 200,
    **context: Any,
) -> Template:
    staff: StaffMember = request.state.staff
    program = await _program(container)
    formats = _formats(request, program)
    try:
        campaign, odds = await container.read(
            lambda uow: current_odds(campaign_id, uow, clock=container.clock)
        )
    except DomainError:
        return _page(request, "draw.html", formats, 404, campaign=None)
    plays = await container.read(lambda uow: campaign_plays(campaign_id, uow))
    now = container.clock.now()
    templates = await _templates(container)
    context.setdefault("values", _values(campaign, program))
    return _page(
        request,
        "draw.html",
        formats,
        status_code,
        campaign=campaign,
        plays=plays,
        state=state_of(campaign, now),
        not_started=now < campaign.starts_at,
        running=campaign.runs_at(now),
        odds=[(o, percent(o.probability)) for o in odds],
        templates=templates,
        names={str(t.id): t.name for t in templates},
        currency=program.currency,
        ended=request.query_params.get("ended") == "1",
        can_manage=allows(staff.role, "console.draws.edit"),
        **context,
    )
