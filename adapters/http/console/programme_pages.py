"""Console pages of the programme (issue #18): settings and the tier ladder.

Settings are saved through the versioned update (``revise_program``) with the version the
form was read at, the console's If-Match: a form made stale by someone else's save is refused
with a message, never saved over it. The tier ladder is simulated (the same report port as
POST /v1/admin/tiers/simulate) and shown before the owner confirms the save
(``update_tier_policy``, versioned the same way). The version history is the audit log's
``tiers.updated`` entries.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Template

from adapters.http.console.controller import Form, _formats, _page, _program
from adapters.http.console.i18n import N_
from app import transactions
from app.container import Container
from app.permissions import allows
from app.reports import AuditQuery
from app.use_cases.program import get_program, revise_program
from app.use_cases.staff import actor_of
from app.use_cases.tiers import ProposedPolicy, get_tier_policy, update_tier_policy
from domain.crm import CrmSettings
from domain.errors import DomainError, ProgramChanged, TierPolicyChanged
from domain.program import ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.staff import StaffMember
from domain.tier_policy import TierPolicy
from domain.tiers import Tier, TierLadder

MAX_TIER_ROWS = 20
COUNTED_EXPIRY = (ExpiryKind.DAYS, ExpiryKind.END_OF_MONTH)
EXPIRY_LABELS = {  # msgids
    ExpiryKind.NEVER: N_("Points never expire"),
    ExpiryKind.DAYS: N_("N days after they are earned"),
    ExpiryKind.END_OF_MONTH: N_("At the end of the month, N months after they are earned"),
    ExpiryKind.END_OF_YEAR: N_("At the end of the year after they are earned"),
}


class FormError(Exception):
    """A form field that is not a value of its kind (shown next to the form)."""


def _int(data: dict[str, str], name: str) -> int:
    try:
        return int(str(data.get(name, "")).strip())
    except ValueError:
        raise FormError(name) from None


def _decimal(data: dict[str, str], name: str) -> Decimal:
    try:
        value = Decimal(str(data.get(name, "")).strip())
    except InvalidOperation:
        raise FormError(name) from None
    if not value.is_finite():
        raise FormError(name)
    return value


def _minor_units(text: str, exponent: int, name: str) -> int:
    """An amount typed in the currency's major units, exactly in minor units."""
    try:
        amount = Decimal(text.strip() or "0")
    except InvalidOperation:
        raise FormError(name) from None
    if not amount.is_finite():
        raise FormError(name)
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise FormError(name)
    return int(minor)


def _expiry(data: dict[str, str]) -> PointsExpiryRule:
    """The expiry rule chosen; the count is read only for the kinds that take one, so
    switching to "never" needs no emptying of the count field."""
    try:
        kind = ExpiryKind(str(data.get("expiry_kind", "")))
    except ValueError:
        raise FormError("expiry_kind") from None
    if kind not in COUNTED_EXPIRY:
        return PointsExpiryRule(kind)
    return PointsExpiryRule(kind, _int(data, "expiry_count"))


class ProgrammePages(Controller):
    path = "/console"
    include_in_schema = False

    # Settings ----------------------------------------------------------------------------------

    @get("/programme", operation_id="console.programme.view")
    async def programme(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        program = await _program(container)
        return _programme_page(request, program)

    @post("/programme", operation_id="console.programme.update")
    async def update_programme(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        staff: StaffMember = request.state.staff
        current = await _program(container)
        try:
            based_on = _int(data, "version")
            changes = {
                "earn_rate": _decimal(data, "earn_rate"),
                "point_value": _decimal(data, "point_value"),
                "pending_days": _int(data, "pending_days"),
                "time_zone": str(data.get("time_zone", "")).strip()[:64],
                "refunds_at_any_store": data.get("refunds_at_any_store") == "on",
                "guest_claim_days": _int(data, "guest_claim_days"),
                "points_expiry": _expiry(data),
                "crm": CrmSettings(
                    new_days=_int(data, "crm_new_days"),
                    dormant_days=_int(data, "crm_dormant_days"),
                    churned_days=_int(data, "crm_churned_days"),
                    follow_up_days=_int(data, "crm_follow_up_days"),
                ),
            }
            updated = await transactions.write(
                container.uow,
                lambda uow: revise_program(
                    lambda now: replace(now, **changes),  # type: ignore[arg-type]
                    actor_of(staff),
                    uow,
                    expected_version=based_on,
                ),
            )
        except ProgramChanged:
            return _programme_page(request, await _program(container), 409, stale=True)
        except (FormError, DomainError) as refused:
            field = (
                refused.args[0]
                if isinstance(refused, FormError)
                else getattr(refused, "field", None)
            )
            return _programme_page(request, current, 422, invalid=field or True)
        return _programme_page(request, updated, saved=True)

    # Tier ladder -------------------------------------------------------------------------------

    @get("/tiers", operation_id="console.tiers.view")
    async def tiers(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _tiers_page(request, container)

    @post("/tiers/simulate", operation_id="console.tiers.simulate")
    async def simulate(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        """The proposal's effect on today's members, read-only; the confirm form follows."""
        program = await _program(container)
        try:
            proposed = _proposed(data, program)
            based_on = _int(data, "version")
        except (FormError, DomainError) as refused:
            field = refused.args[0] if isinstance(refused, FormError) else "tiers"
            return await _tiers_page(request, container, 422, invalid=field, rows=_rows(data))
        policy = TierPolicy(proposed.window_days, proposed.grace_days, proposed.ladder)
        result = await container.reports.simulate_tiers(
            policy,
            now=container.clock.now(),
            earn_rate=program.earn_rate,
            currency_exponent=program.currency_exponent,
        )
        return await _tiers_page(
            request,
            container,
            proposed=policy,
            simulation=result,
            based_on=based_on,
            rows=_rows(data),
        )

    @post("/tiers", operation_id="console.tiers.save")
    async def save(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        """Saves the ladder the owner read the simulation of (sent back as hidden fields),
        refused when another version was saved since the page was read."""
        staff: StaffMember = request.state.staff
        program = await _program(container)
        try:
            proposed = _proposed(data, program)
            based_on = _int(data, "version")
            updated = await transactions.write(
                container.uow,
                lambda uow: update_tier_policy(
                    proposed,
                    actor_of(staff),
                    uow,
                    clock=container.clock,
                    expected_version=based_on,
                ),
            )
        except TierPolicyChanged:
            return await _tiers_page(request, container, 409, stale=True)
        except (FormError, DomainError) as refused:
            field = refused.args[0] if isinstance(refused, FormError) else "tiers"
            return await _tiers_page(request, container, 422, invalid=field, rows=_rows(data))
        return await _tiers_page(request, container, saved=updated)


def _programme_page(
    request: Request[Any, Any, Any],
    program: ProgramSettings,
    status_code: int = 200,
    **context: Any,
) -> Template:
    staff: StaffMember = request.state.staff
    return _page(
        request,
        "programme.html",
        _formats(request, program),
        status_code,
        program=program,
        can_edit=allows(staff.role, "console.programme.update"),
        expiry_kinds=[(kind.value, EXPIRY_LABELS[kind]) for kind in ExpiryKind],
        **context,
    )


def _rows(data: dict[str, str]) -> list[dict[str, str]]:
    """The ladder's rows as typed (so that a refused form keeps them)."""
    rows = []
    for i in range(MAX_TIER_ROWS):
        if f"code_{i}" not in data:
            break
        rows.append(
            {
                key: str(data.get(f"{key}_{i}", ""))[:100]
                for key in ("code", "name", "rank", "threshold", "multiplier")
            }
        )
    rows.append({"window_days": str(data.get("window_days", ""))[:6]})
    rows[-1]["grace_days"] = str(data.get("grace_days", ""))[:6]
    return rows


def _proposed(data: dict[str, str], program: ProgramSettings) -> ProposedPolicy:
    tiers = []
    for i in range(MAX_TIER_ROWS):
        code = str(data.get(f"code_{i}", "")).strip()[:32]
        if not code:
            continue  # an emptied row removes its tier
        tiers.append(
            Tier(
                code=code,
                name=str(data.get(f"name_{i}", "")).strip()[:100] or code,
                rank=_int(data, f"rank_{i}"),
                threshold=_minor_units(
                    str(data.get(f"threshold_{i}", "")), program.currency_exponent, "threshold"
                ),
                earn_multiplier=_decimal(data, f"multiplier_{i}"),
            )
        )
    window = _int(data, "window_days")
    grace = _int(data, "grace_days")
    if not 1 <= window <= 3660:
        raise FormError("window_days")
    if not 0 <= grace <= 365:
        raise FormError("grace_days")
    return ProposedPolicy(window, grace, TierLadder.of(tiers))


async def _tiers_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    rows: list[dict[str, str]] | None = None,
    **context: Any,
) -> Template:
    staff: StaffMember = request.state.staff
    policy = await transactions.read(container.uow, get_tier_policy)
    program = await transactions.read(container.uow, get_program)
    history = await container.reports.audit_log(
        AuditQuery(zone=program.time_zone, action="tiers.updated", limit=20)
    )
    if rows is None:
        rows = _rows_of(policy, program)
    settings_row = rows[-1]
    return _page(
        request,
        "tiers.html",
        _formats(request, program),
        status_code,
        policy=policy,
        program=program,
        rows=[*rows[:-1], {}],
        window_days=settings_row.get("window_days", ""),
        grace_days=settings_row.get("grace_days", ""),
        history=history,
        major=lambda minor: str(Decimal(minor).scaleb(-program.currency_exponent)),
        can_edit=allows(staff.role, "console.tiers.save"),
        **context,
    )


def _rows_of(policy: TierPolicy, program: ProgramSettings) -> list[dict[str, str]]:
    rows = [
        {
            "code": t.code,
            "name": t.name,
            "rank": str(t.rank),
            "threshold": str(Decimal(t.threshold).scaleb(-program.currency_exponent)),
            "multiplier": str(t.earn_multiplier),
        }
        for t in policy.ladder.tiers
    ]
    rows.append({"window_days": str(policy.window_days), "grace_days": str(policy.grace_days)})
    return rows
