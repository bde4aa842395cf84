"""Dict-backed fakes of the core's ports, one module per port, for use-case tests without a
database. ``FakeUnitOfWork`` (``database.py``) composes them over one ``FakeDatabase``.

What a fake refuses, the PostgreSQL adapter refuses too: tests/contract runs the same cases
against both. Aggregates are copied on the way in and out, as a database would: mutating a
loaded object changes nothing until it is saved.
"""

from tests.support.fakes.audit import FakeAuditLog
from tests.support.fakes.common import ConstraintViolation, Link
from tests.support.fakes.coupon_templates import FakeCouponTemplateRepository
from tests.support.fakes.coupons import FakeCouponRepository
from tests.support.fakes.database import (
    OTHER_STORE,
    STORE,
    TERMINAL,
    FakeDatabase,
    FakeUnitOfWork,
    FakeUnitOfWorkFactory,
    FakeWorld,
    enrol,
)
from tests.support.fakes.draws import FakeDrawRepository
from tests.support.fakes.earning_rules import FakeEarningRuleRepository
from tests.support.fakes.feedback import FakeFeedbackRepository
from tests.support.fakes.follow_ups import FakeFollowUpRepository
from tests.support.fakes.idempotency import FakeIdempotencyStore
from tests.support.fakes.integration_events import FakeIntegrationEvents
from tests.support.fakes.login import (
    FakeLoginChallengeRepository,
    FakeRateLimiter,
    FakeRefreshTokenRepository,
)
from tests.support.fakes.member_privacy import FakeMemberPrivacyRepository
from tests.support.fakes.members import FakeMemberRepository
from tests.support.fakes.message_templates import FakeMessageTemplateRepository
from tests.support.fakes.messages import FakeMessageDirectory, RecordingEmail
from tests.support.fakes.notifications import FakeSecretBox, RecordingMemberNotifier, RecordingSms
from tests.support.fakes.outbox import FakeOutbox
from tests.support.fakes.payments import FakePaymentRepository
from tests.support.fakes.points import FakePointsRepository, StoredLot, StoredMovement
from tests.support.fakes.profiles import FakeMemberProfileRepository
from tests.support.fakes.program import FakeProgramRepository
from tests.support.fakes.reward_catalogue import (
    FakeGuestClaimRepository,
    FakeRewardCatalogueRepository,
)
from tests.support.fakes.rewards import FakeRewardSettingsRepository
from tests.support.fakes.sales import FakeSaleRepository
from tests.support.fakes.segments import FakeSegmentResolver
from tests.support.fakes.shop import FakeShopRepository
from tests.support.fakes.stores import FakeStoreRepository
from tests.support.fakes.system import FakeContacts, FixedClock, SequenceRandom, SequentialIds
from tests.support.fakes.tiers import FakeTierRepository
from tests.support.fakes.webhook_endpoints import FakeWebhookEndpointRepository
from tests.support.fakes.webhook_events import FakeWebhookEventLog

__all__ = [
    "OTHER_STORE",
    "STORE",
    "TERMINAL",
    "ConstraintViolation",
    "FakeAuditLog",
    "FakeContacts",
    "FakeCouponRepository",
    "FakeCouponTemplateRepository",
    "FakeDatabase",
    "FakeDrawRepository",
    "FakeEarningRuleRepository",
    "FakeFeedbackRepository",
    "FakeFollowUpRepository",
    "FakeGuestClaimRepository",
    "FakeIdempotencyStore",
    "FakeIntegrationEvents",
    "FakeLoginChallengeRepository",
    "FakeMemberPrivacyRepository",
    "FakeMemberProfileRepository",
    "FakeMemberRepository",
    "FakeMessageDirectory",
    "FakeMessageTemplateRepository",
    "FakeOutbox",
    "FakePaymentRepository",
    "FakePointsRepository",
    "FakeProgramRepository",
    "FakeRateLimiter",
    "FakeRefreshTokenRepository",
    "FakeRewardCatalogueRepository",
    "FakeRewardSettingsRepository",
    "FakeSaleRepository",
    "FakeSecretBox",
    "FakeSegmentResolver",
    "FakeShopRepository",
    "FakeStoreRepository",
    "FakeTierRepository",
    "FakeUnitOfWork",
    "FakeUnitOfWorkFactory",
    "FakeWebhookEndpointRepository",
    "FakeWebhookEventLog",
    "FakeWorld",
    "FixedClock",
    "Link",
    "RecordingEmail",
    "RecordingMemberNotifier",
    "RecordingSms",
    "SequenceRandom",
    "SequentialIds",
    "StoredLot",
    "StoredMovement",
    "enrol",
]
