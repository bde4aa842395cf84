"""The API's areas: each router sets the role its routes need, once."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.types import ControllerRouterHandler

from adapters.http.auth import SECURITY, current_principal, require_role
from adapters.http.console import console_router
from adapters.http.controllers.admin_audit_log import AdminAuditLogController
from adapters.http.controllers.admin_catalogue import (
    AdminCatalogueController,
    AdminRewardRedemptionsController,
)
from adapters.http.controllers.admin_coupon_templates import AdminCouponTemplatesController
from adapters.http.controllers.admin_coupons import AdminCouponsController
from adapters.http.controllers.admin_crm_reports import AdminCrmReportsController
from adapters.http.controllers.admin_draw_campaigns import AdminDrawCampaignsController
from adapters.http.controllers.admin_earning_rules import AdminEarningRulesController
from adapters.http.controllers.admin_feedback import AdminFeedbackController
from adapters.http.controllers.admin_follow_ups import AdminFollowUpsController
from adapters.http.controllers.admin_member_privacy import AdminMemberPrivacyController
from adapters.http.controllers.admin_member_profile import AdminMemberProfileController
from adapters.http.controllers.admin_members import AdminMembersController
from adapters.http.controllers.admin_message_templates import AdminMessageTemplatesController
from adapters.http.controllers.admin_program import AdminProgramController
from adapters.http.controllers.admin_reports import AdminReportsController
from adapters.http.controllers.admin_rewards import (
    AdminBirthdayRewardController,
    AdminReviewRewardController,
)
from adapters.http.controllers.admin_segments import AdminSegmentsController
from adapters.http.controllers.admin_stores import AdminStoresController
from adapters.http.controllers.admin_terminals import AdminTerminalsController
from adapters.http.controllers.admin_tier_simulation import AdminTierSimulationController
from adapters.http.controllers.admin_tiers import AdminTiersController
from adapters.http.controllers.admin_webhook_endpoints import AdminWebhookEndpointsController
from adapters.http.controllers.auth import AuthController
from adapters.http.controllers.draw_odds import DrawOddsController
from adapters.http.controllers.health import HealthController
from adapters.http.controllers.me import MeController
from adapters.http.controllers.me_card_token import MeCardTokenController
from adapters.http.controllers.me_catalogue import MeRewardsController, MeSaleClaimsController
from adapters.http.controllers.me_coupons import MeCouponsController
from adapters.http.controllers.me_draws import MeDrawsController
from adapters.http.controllers.me_feedback import MeFeedbackController
from adapters.http.controllers.member_login import MemberLoginController
from adapters.http.controllers.pos_members import PosMembersController
from adapters.http.controllers.pos_rewards import PosRewardsController
from adapters.http.controllers.pos_sales import PosSalesController
from adapters.http.controllers.webhooks_shop import ShopWebhookController
from adapters.http.controllers.webhooks_stripe import StripeWebhookController
from adapters.http.permissions import admin_guard
from adapters.http.query_times import check_query_times, with_query_times
from app.principal import Role


def _area(path: str, role: Role, handlers: list[ControllerRouterHandler]) -> Router:
    return Router(
        path=path,
        route_handlers=handlers,
        before_request=with_query_times(require_role(role)),
        security=SECURITY,
        dependencies={"principal": Provide(current_principal, sync_to_thread=False)},
    )


def _admin_area(handlers: list[ControllerRouterHandler]) -> Router:
    """The admin area checks by guard (admin_guard), not by before-request hook: each
    operation needs its own permission, and guards run before the hook and the parsing."""
    return Router(
        path="/v1/admin",
        route_handlers=handlers,
        guards=[admin_guard],
        before_request=check_query_times,
        security=SECURITY,
        dependencies={"principal": Provide(current_principal, sync_to_thread=False)},
    )


def route_handlers() -> list[ControllerRouterHandler]:
    return [
        HealthController,
        AuthController,
        DrawOddsController,
        MemberLoginController,
        _admin_area(
            [
                AdminStoresController,
                AdminTerminalsController,
                AdminProgramController,
                AdminMembersController,
                AdminMemberProfileController,
                AdminReportsController,
                AdminTiersController,
                AdminTierSimulationController,
                AdminCouponTemplatesController,
                AdminEarningRulesController,
                AdminCouponsController,
                AdminReviewRewardController,
                AdminBirthdayRewardController,
                AdminCatalogueController,
                AdminRewardRedemptionsController,
                AdminDrawCampaignsController,
                AdminFeedbackController,
                AdminCrmReportsController,
                AdminSegmentsController,
                AdminFollowUpsController,
                AdminMemberPrivacyController,
                AdminAuditLogController,
                AdminMessageTemplatesController,
                AdminWebhookEndpointsController,
            ],
        ),
        _area(
            "/v1/pos", Role.POS, [PosMembersController, PosSalesController, PosRewardsController]
        ),
        _area(
            "/v1/me",
            Role.MEMBER,
            [
                MeController,
                MeCouponsController,
                MeDrawsController,
                MeFeedbackController,
                MeCardTokenController,
                MeRewardsController,
                MeSaleClaimsController,
            ],
        ),
        # The back-office console: cookie sessions, the same permission table (issue #18).
        console_router(),
        # Webhooks authenticate by the signature over their body, not by a bearer token.
        Router(
            path="/v1/webhooks",
            route_handlers=[ShopWebhookController, StripeWebhookController],
        ),
    ]
