from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.coupons import (
    CampaignRecipientPageOut,
    CampaignSkipOut,
    CampaignSkipPageOut,
    CouponStateOut,
    IssueCouponsIn,
    IssueCouponsOut,
    VoidCouponIn,
)
from adapters.http.schemas.problem import problems
from adapters.http.strict_input import DECODABLE_TEXT
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.coupons import (
    IssueCoupons,
    VoidCoupon,
    campaign_recipients,
    campaign_skips,
    issue_coupons,
    void_coupon,
)
from domain.errors import InvalidInput

CampaignKey = Annotated[
    str,
    QueryParameter(
        min_length=1,
        max_length=100,
        pattern=DECODABLE_TEXT,
        description="the campaign_key the coupons were issued with",
    ),
]


class AdminCouponsController(Controller):
    path = "/coupons"
    tags = ["admin", "coupons"]

    @post(
        "/issue",
        operation_id="issueCoupons",
        summary="Issue a template's coupons to listed members or a segment (audited)",
        description="`member_ids` (up to 1,000) or `segment` (an RFM segment, a lifecycle "
        "stage or a tier, with a `campaign_key`: each member in it gets one coupon per key, "
        "so sending the campaign again reaches only newcomers). Members past the template's "
        "per-member or total limit, unknown members and members who already hold a coupon of "
        "the same `campaign_key` are skipped with the reason (listed for `member_ids`, "
        "counted for a segment; with a `campaign_key`, listCampaignRecipients and "
        "listCampaignSkips list both); the rest get one coupon each. Concurrent issues of one "
        "template are serialised, so a total limit is never exceeded. A retired template "
        "gets 409 `coupon_template_retired`.",
        status_code=201,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def issue(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[IssueCouponsIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[IssueCouponsOut]:
        if (data.segment is None) == (not data.member_ids):
            raise InvalidInput("give either member_ids or a segment", field="member_ids")
        command = IssueCoupons(
            template_id=data.template_id,
            member_ids=data.member_ids or (),
            actor=principal.actor,
            campaign_key=data.campaign_key,
            segment=data.segment.to_spec() if data.segment else None,
        )

        async def action(uow: UnitOfWork) -> tuple[int, IssueCouponsOut]:
            issued = await issue_coupons(
                command, uow, clock=container.clock, random=container.random, ids=container.ids
            )
            return 201, IssueCouponsOut.of(issued, itemised=command.segment is None)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @post(
        "/{coupon_id:uuid}/void",
        operation_id="voidCoupon",
        summary="Withdraw an issued coupon that has not been used, with a reason (audited)",
        description="A voided coupon cannot be redeemed: a till presenting it gets it "
        "rejected (`voided`). Against a till redeeming it at the same instant exactly one "
        "wins: the sale (and this answers 409 `coupon_not_voidable`) or the void (and the "
        "sale gets 422 `coupon_not_redeemable`). A redeemed, expired or voided coupon gets "
        "409 `coupon_not_voidable`.",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def void(
        self,
        request: Request[Any, Any, Any],
        coupon_id: FromPath[UUID],
        data: JSONBody[VoidCouponIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[CouponStateOut]:
        command = VoidCoupon(coupon_id=coupon_id, reason=data.reason, actor=principal.actor)

        async def action(uow: UnitOfWork) -> tuple[int, CouponStateOut]:
            coupon = await void_coupon(command, uow, clock=container.clock)
            return 200, CouponStateOut.of(coupon, container.clock.now())

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @get(
        "/campaign-recipients",
        operation_id="listCampaignRecipients",
        summary="Who received a campaign (a campaign_key): one coupon each, by member id",
        responses=problems(401, 403, 422),
    )
    async def recipients(
        self,
        container: NamedDependency[Container],
        campaign_key: CampaignKey,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> CampaignRecipientPageOut:
        after = decode_after(cursor)
        coupons = await transactions.read(
            container.uow,
            lambda uow: campaign_recipients(campaign_key, uow, after=after, limit=limit),
        )
        now = container.clock.now()
        return CampaignRecipientPageOut(
            items=[CouponStateOut.of(c, now) for c in coupons],
            next_cursor=next_cursor([c.member_id for c in coupons], limit),
        )

    @get(
        "/campaign-skips",
        operation_id="listCampaignSkips",
        summary="Who a campaign (a campaign_key) left out, and why, by member id",
        description="One row per member, with the reason the latest sending found: "
        "`member_erased`, `per_member_limit_reached`, `total_limit_reached`. A member a "
        "later sending reached is listed among the recipients instead; members who already "
        "held the campaign's coupon are recipients, not skips.",
        responses=problems(401, 403, 422),
    )
    async def skips(
        self,
        container: NamedDependency[Container],
        campaign_key: CampaignKey,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> CampaignSkipPageOut:
        after = decode_after(cursor)
        skipped = await transactions.read(
            container.uow,
            lambda uow: campaign_skips(campaign_key, uow, after=after, limit=limit),
        )
        return CampaignSkipPageOut(
            items=[
                CampaignSkipOut(
                    member_id=s.member_id,
                    template_id=s.template_id,
                    reason=s.reason,
                    skipped_at=s.skipped_at,
                )
                for s in skipped
            ],
            next_cursor=next_cursor([s.member_id for s in skipped], limit),
        )
