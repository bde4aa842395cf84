"""Console pages of marketing (issue #18): coupon templates and segment campaigns.

A segment campaign is picked (a template and an RFM segment, a lifecycle stage or a tier),
previewed (how many members it reaches: ``preview_segment``), then issued under a campaign
key (``issue_coupons``: each member of the segment gets one coupon per key, so sending it
again reaches only newcomers), and its recipients and skips are listed
(``campaign_recipients``, ``campaign_skips``), as /v1/admin does.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from adapters.http.console.controller import Form, _formats, _page, _program
from adapters.http.console.i18n import N_
from adapters.http.console.paging import Pager, uuid_or_none
from app import transactions
from app.container import Container
from app.permissions import allows
from app.use_cases.coupon_templates import RetireTemplate, list_templates, retire_template
from app.use_cases.coupons import (
    MAX_CAMPAIGN_KEY,
    IssueCoupons,
    campaign_recipients,
    campaign_skips,
    issue_coupons,
)
from app.use_cases.crm import preview_segment
from app.use_cases.staff import actor_of
from app.use_cases.tiers import get_tier_policy
from domain.crm import LifecycleStage, RfmSegment, SegmentSpec, parse_segment_spec
from domain.errors import DomainError
from domain.staff import StaffMember

LISTED = 200  # rows of a list shown on a page; the next pages by cursor (paging.py)
SEGMENT_KINDS = ("rfm", "lifecycle", "tier")


def _spec(choice: str) -> SegmentSpec:
    """``rfm:champions``, ``lifecycle:dormant`` or ``tier:gold`` (the form's one select)."""
    kind, _, value = choice.partition(":")
    if kind not in SEGMENT_KINDS:
        kind, value = "rfm", ""
    return parse_segment_spec({kind: value[:64]})


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text.strip())
    except ValueError:
        return None


class CampaignPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/campaigns", operation_id="console.campaigns.view")
    async def campaigns(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _campaigns_page(request, container)

    @post("/campaigns/preview", operation_id="console.campaigns.preview")
    async def preview(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        """How many members the segment reaches; the issue form follows, with a campaign key."""
        choice = str(data.get("segment", ""))[:80]
        template_id = _uuid(str(data.get("template_id", "")))
        try:
            if template_id is None:
                raise LookupError
            spec = _spec(choice)
            preview = await container.read(
                lambda uow: preview_segment(spec, uow, clock=container.clock)
            )
        except (LookupError, DomainError):
            return await _campaigns_page(request, container, 422, invalid=True)
        return await _campaigns_page(
            request,
            container,
            preview=preview,
            choice=choice,
            template_id=template_id,
            suggested_key=f"{choice.replace(':', '-')}-{preview.today.isoformat()}",
        )

    @post("/campaigns/issue", operation_id="console.campaigns.issue")
    async def issue(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Any:
        staff: StaffMember = request.state.staff
        key = str(data.get("campaign_key", "")).strip()
        template_id = _uuid(str(data.get("template_id", "")))
        try:
            if template_id is None or not 1 <= len(key) <= MAX_CAMPAIGN_KEY:
                raise LookupError
            command = IssueCoupons(
                template_id=template_id,
                member_ids=(),
                actor=actor_of(staff),
                campaign_key=key,
                segment=_spec(str(data.get("segment", ""))[:80]),
            )
            await transactions.write(
                container.uow,
                lambda uow: issue_coupons(
                    command, uow, clock=container.clock, random=container.random, ids=container.ids
                ),
            )
        except (LookupError, DomainError) as refused:
            code = getattr(refused, "code", "validation_error")
            return await _campaigns_page(request, container, 422, refused=code)
        return Redirect("/console/campaigns/sent", query_params={"key": key}, status_code=303)

    @get("/campaigns/sent", operation_id="console.campaigns.sent")
    async def sent(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
        key: FromQuery[str] = "",
    ) -> Template:
        """A campaign's recipients (one coupon each) and the members it left out, and why."""
        key = key[:MAX_CAMPAIGN_KEY]
        query = dict(request.query_params)
        shown_recipients = Pager.of(request.url.path, query, "r_")
        shown_skips = Pager.of(request.url.path, query, "s_")
        recipients = await container.read(
            lambda uow: campaign_recipients(
                key, uow, after=uuid_or_none(shown_recipients.after), limit=LISTED + 1
            ),
        )
        skips = await container.read(
            lambda uow: campaign_skips(
                key, uow, after=uuid_or_none(shown_skips.after), limit=LISTED + 1
            ),
        )
        program = await _program(container)
        return _page(
            request,
            "campaign_sent.html",
            _formats(request, program),
            key=key,
            recipients=recipients[:LISTED],
            skips=skips[:LISTED],
            recipients_pager=shown_recipients.followed_by(
                recipients[LISTED - 1].member_id if len(recipients) > LISTED else None
            ),
            skips_pager=shown_skips.followed_by(
                skips[LISTED - 1].member_id if len(skips) > LISTED else None
            ),
            listed=LISTED,
        )

    @post("/coupon-templates/{template_id:uuid}/retire", operation_id="console.templates.retire")
    async def retire(
        self,
        request: Request[Any, Any, Any],
        template_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Template:
        staff: StaffMember = request.state.staff
        command = RetireTemplate(
            template_id, actor_of(staff), str(data.get("reason", "")).strip()[:500] or None
        )
        try:
            await transactions.write(
                container.uow, lambda uow: retire_template(command, uow, clock=container.clock)
            )
        except DomainError:
            return await _campaigns_page(request, container, 404, refused="not_found")
        return await _campaigns_page(request, container, retired=True)


async def _campaigns_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    **context: Any,
) -> Template:
    staff: StaffMember = request.state.staff
    templates = await container.read(lambda uow: list_templates(uow, after=None, limit=LISTED))
    policy = await container.read(get_tier_policy)
    program = await _program(container)
    return _page(
        request,
        "campaigns.html",
        _formats(request, program),
        status_code,
        templates=templates,
        rfm_segments=[s.value for s in RfmSegment],
        stages=[s.value for s in LifecycleStage],
        tiers=policy.ladder.tiers,
        can_manage=allows(staff.role, "console.campaigns.issue"),
        **context,
    )


# Values the pages translate by name: RFM segments, lifecycle stages, campaign skip reasons.
TRANSLATED_BY_VALUE = (
    N_("champions"),
    N_("loyal"),
    N_("potential_loyalists"),
    N_("new_customers"),
    N_("promising"),
    N_("need_attention"),
    N_("about_to_sleep"),
    N_("at_risk"),
    N_("cant_lose_them"),
    N_("hibernating"),
    N_("lost"),
    N_("prospect"),
    N_("new"),
    N_("dormant"),
    N_("churned"),
    N_("member_erased"),
    N_("per_member_limit_reached"),
    N_("total_limit_reached"),
    N_("Programme"),
    N_("Tiers"),
    N_("Campaigns"),
    N_("CRM"),
    N_("Stores"),
    N_("Audit log"),
)
