"""The unit of work: one transaction, the repositories that join it, an explicit commit.

Each repository is a port of its own (``WithMembers``, ``WithSales``, ...: a read-only property
a unit of work exposes), and ``UnitOfWork`` composes them all with the transaction. A use case
asks only for the ports it uses: its module declares a narrow unit, such as
``StoresUnit(WithStores, WithAudit, Protocol)``, that every ``UnitOfWork`` satisfies, so a new
repository touches no existing use case, and a test may hand it any object with those ports.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol, Self

from app.idempotency_store import IdempotencyStore
from domain.coupon_repositories import (
    CouponRepository,
    CouponTemplateRepository,
    DrawRepository,
    RewardSettingsRepository,
)
from domain.crm import SegmentResolver
from domain.earning_rules import EarningRuleRepository
from domain.feedback import FeedbackRepository
from domain.follow_ups import FollowUpRepository
from domain.guest_claims import GuestClaimRepository
from domain.login import LoginChallengeRepository, RefreshTokenRepository
from domain.member_privacy import MemberPrivacyRepository
from domain.members import MemberProfileRepository
from domain.messages import MessageTemplateRepository
from domain.notifications import Outbox
from domain.outbound_webhooks import IntegrationEvents, WebhookEndpointRepository
from domain.payments import PaymentRepository
from domain.repositories import (
    AuditLog,
    MemberRepository,
    PointsRepository,
    ProgramRepository,
    SaleRepository,
    StoreRepository,
    TierRepository,
)
from domain.reward_catalogue import RewardCatalogueRepository
from domain.webshop import ShopRepository, WebhookEventLog


class WithMembers(Protocol):
    @property
    def members(self) -> MemberRepository: ...


class WithPoints(Protocol):
    @property
    def points(self) -> PointsRepository: ...


class WithSales(Protocol):
    @property
    def sales(self) -> SaleRepository: ...


class WithStores(Protocol):
    @property
    def stores(self) -> StoreRepository: ...


class WithProgram(Protocol):
    @property
    def program(self) -> ProgramRepository: ...


class WithTiers(Protocol):
    @property
    def tiers(self) -> TierRepository: ...


class WithAudit(Protocol):
    @property
    def audit(self) -> AuditLog: ...


class WithIdempotency(Protocol):
    @property
    def idempotency(self) -> IdempotencyStore: ...


class WithCouponTemplates(Protocol):
    @property
    def coupon_templates(self) -> CouponTemplateRepository: ...


class WithCoupons(Protocol):
    @property
    def coupons(self) -> CouponRepository: ...


class WithRewards(Protocol):
    @property
    def rewards(self) -> RewardSettingsRepository: ...


class WithDraws(Protocol):
    @property
    def draws(self) -> DrawRepository: ...


class WithWebhookEvents(Protocol):
    @property
    def webhook_events(self) -> WebhookEventLog: ...


class WithShop(Protocol):
    @property
    def shop(self) -> ShopRepository: ...


class WithPayments(Protocol):
    @property
    def payments(self) -> PaymentRepository: ...


class WithFeedback(Protocol):
    @property
    def feedback(self) -> FeedbackRepository: ...


class WithLoginChallenges(Protocol):
    @property
    def login_challenges(self) -> LoginChallengeRepository: ...


class WithRefreshTokens(Protocol):
    @property
    def refresh_tokens(self) -> RefreshTokenRepository: ...


class WithOutbox(Protocol):
    @property
    def outbox(self) -> Outbox: ...


class WithSegments(Protocol):
    @property
    def segments(self) -> SegmentResolver: ...


class WithFollowUps(Protocol):
    @property
    def follow_ups(self) -> FollowUpRepository: ...


class WithMemberPrivacy(Protocol):
    @property
    def member_privacy(self) -> MemberPrivacyRepository: ...


class WithProfiles(Protocol):
    @property
    def profiles(self) -> MemberProfileRepository: ...


class WithMessageTemplates(Protocol):
    @property
    def message_templates(self) -> MessageTemplateRepository: ...


class WithEarningRules(Protocol):
    @property
    def earning_rules(self) -> EarningRuleRepository: ...


class WithIntegrationEvents(Protocol):
    @property
    def integration_events(self) -> IntegrationEvents: ...


class WithWebhookEndpoints(Protocol):
    @property
    def webhook_endpoints(self) -> WebhookEndpointRepository: ...


class WithCatalogue(Protocol):
    @property
    def catalogue(self) -> RewardCatalogueRepository: ...


class WithGuestClaims(Protocol):
    @property
    def guest_claims(self) -> GuestClaimRepository: ...


class Transaction(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rolls back whatever was not committed."""
        ...

    async def commit(self) -> None:
        """Makes the writes durable and ends the transaction: nothing may run in the unit of
        work after it (a use case that writes again opens a new one)."""
        ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """Writes inside the block are undone if it raises; the transaction goes on."""
        ...


class UnitOfWork(
    WithMembers,
    WithPoints,
    WithSales,
    WithStores,
    WithProgram,
    WithTiers,
    WithAudit,
    WithIdempotency,
    WithCouponTemplates,
    WithCoupons,
    WithRewards,
    WithDraws,
    WithWebhookEvents,
    WithShop,
    WithPayments,
    WithFeedback,
    WithLoginChallenges,
    WithRefreshTokens,
    WithOutbox,
    WithSegments,
    WithFollowUps,
    WithMemberPrivacy,
    WithProfiles,
    WithMessageTemplates,
    WithEarningRules,
    WithIntegrationEvents,
    WithWebhookEndpoints,
    WithCatalogue,
    WithGuestClaims,
    Transaction,
    Protocol,
):
    """Every repository in one transaction: what the request path, the jobs and the webhook
    runner open. Read-only properties, so that an implementation may expose its concrete
    repositories."""


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
