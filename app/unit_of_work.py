"""The unit of work: one transaction, the repositories that join it, an explicit commit."""

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
from domain.feedback import FeedbackRepository
from domain.follow_ups import FollowUpRepository
from domain.login import LoginChallengeRepository, RefreshTokenRepository
from domain.member_privacy import MemberPrivacyRepository
from domain.members import MemberProfileRepository
from domain.notifications import Outbox
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
from domain.webshop import ShopRepository, WebhookEventLog


class UnitOfWork(Protocol):
    # Read-only properties, so that an implementation may expose its concrete repositories.
    @property
    def members(self) -> MemberRepository: ...
    @property
    def points(self) -> PointsRepository: ...
    @property
    def sales(self) -> SaleRepository: ...
    @property
    def stores(self) -> StoreRepository: ...
    @property
    def program(self) -> ProgramRepository: ...
    @property
    def tiers(self) -> TierRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def coupon_templates(self) -> CouponTemplateRepository: ...
    @property
    def coupons(self) -> CouponRepository: ...
    @property
    def rewards(self) -> RewardSettingsRepository: ...
    @property
    def draws(self) -> DrawRepository: ...
    @property
    def webhook_events(self) -> WebhookEventLog: ...
    @property
    def shop(self) -> ShopRepository: ...
    @property
    def payments(self) -> PaymentRepository: ...
    @property
    def feedback(self) -> FeedbackRepository: ...
    @property
    def login_challenges(self) -> LoginChallengeRepository: ...
    @property
    def refresh_tokens(self) -> RefreshTokenRepository: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def segments(self) -> SegmentResolver: ...
    @property
    def follow_ups(self) -> FollowUpRepository: ...
    @property
    def member_privacy(self) -> MemberPrivacyRepository: ...
    @property
    def profiles(self) -> MemberProfileRepository: ...

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


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
