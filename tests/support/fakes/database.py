"""The fake database (every fake's state), its units of work and the world of ports."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from app.transactions import write
from app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from app.use_cases.members import EnrolMember, enrol_member
from domain.contacts import ContactNormaliser
from domain.login import RateLimiter
from domain.notifications import MemberNotifier, SecretBox, SmsSender
from domain.ports import Clock, IdGenerator, RandomSource
from domain.stores import Store, Terminal
from tests.support.fakes.audit import FakeAuditLog
from tests.support.fakes.common import Linked
from tests.support.fakes.coupon_templates import FakeCouponTemplateRepository
from tests.support.fakes.coupons import FakeCouponRepository
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
from tests.support.fakes.notifications import FakeSecretBox, RecordingMemberNotifier, RecordingSms
from tests.support.fakes.outbox import FakeOutbox
from tests.support.fakes.payments import FakePaymentRepository
from tests.support.fakes.points import FakePointsRepository
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


class FakeDatabase:
    """Every repository's state; units of work opened on it share it like one database.

    There is no isolation: a unit of work that rolls back restores the state it started from,
    so units of work on one database must not interleave.
    """

    def __init__(self) -> None:
        self.members = FakeMemberRepository()
        self.points = FakePointsRepository()
        self.sales = FakeSaleRepository()
        self.stores = FakeStoreRepository()
        self.program = FakeProgramRepository()
        self.tiers = FakeTierRepository()
        self.audit = FakeAuditLog()
        self.idempotency = FakeIdempotencyStore()
        self.coupon_templates = FakeCouponTemplateRepository()
        self.coupons = FakeCouponRepository()
        self.rewards = FakeRewardSettingsRepository()
        self.draws = FakeDrawRepository()
        self.webhook_events = FakeWebhookEventLog()
        self.shop = FakeShopRepository()
        self.payments = FakePaymentRepository()
        self.feedback = FakeFeedbackRepository()
        self.login_challenges = FakeLoginChallengeRepository()
        self.refresh_tokens = FakeRefreshTokenRepository()
        self.outbox = FakeOutbox()
        self.follow_ups = FakeFollowUpRepository()
        self.profiles = FakeMemberProfileRepository()
        self.message_templates = FakeMessageTemplateRepository()
        self.earning_rules = FakeEarningRuleRepository()
        self.integration_events = FakeIntegrationEvents()
        self.webhook_endpoints = FakeWebhookEndpointRepository()
        self.catalogue = FakeRewardCatalogueRepository()
        self.guest_claims = FakeGuestClaimRepository()
        self._link()

    def _link(self) -> None:
        for repository in vars(self).values():
            if isinstance(repository, Linked):
                repository.link(self)

    def _repositories(self) -> dict[str, object]:
        return dict(vars(self))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {name: copy.deepcopy(vars(repo)) for name, repo in self._repositories().items()}

    def restore(self, snapshot: dict[str, dict[str, Any]]) -> None:
        for name, repo in self._repositories().items():
            state = vars(repo)
            state.clear()
            state.update(copy.deepcopy(snapshot[name]))


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase | None = None) -> None:
        self.db = db if db is not None else FakeDatabase()
        self.members = self.db.members
        self.points = self.db.points
        self.sales = self.db.sales
        self.stores = self.db.stores
        self.program = self.db.program
        self.tiers = self.db.tiers
        self.audit = self.db.audit
        self.idempotency = self.db.idempotency
        self.coupon_templates = self.db.coupon_templates
        self.coupons = self.db.coupons
        self.rewards = self.db.rewards
        self.draws = self.db.draws
        self.webhook_events = self.db.webhook_events
        self.shop = self.db.shop
        self.payments = self.db.payments
        self.feedback = self.db.feedback
        self.login_challenges = self.db.login_challenges
        self.refresh_tokens = self.db.refresh_tokens
        self.outbox = self.db.outbox
        self.segments = FakeSegmentResolver(self.db)
        self.follow_ups = self.db.follow_ups
        self.profiles = self.db.profiles
        self.message_templates = self.db.message_templates
        self.earning_rules = self.db.earning_rules
        self.integration_events = self.db.integration_events
        self.webhook_endpoints = self.db.webhook_endpoints
        self.catalogue = self.db.catalogue
        self.guest_claims = self.db.guest_claims
        # Stateless: it works on the other fakes, so the database's snapshots cover it.
        self.member_privacy = FakeMemberPrivacyRepository(self.db)
        self.committed = False
        self.rolled_back = False
        self._start: dict[str, dict[str, Any]] | None = None

    async def __aenter__(self) -> Self:
        if self._start is not None:
            raise RuntimeError("this unit of work is already active")
        self._start = self.db.snapshot()
        self.committed = False
        self.rolled_back = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._start is None:
            raise RuntimeError("the unit of work is not active")
        if not self.committed:
            self.db.restore(self._start)
            self.rolled_back = True
        self._start = None

    async def commit(self) -> None:
        if self._start is None:
            raise RuntimeError("the unit of work is not active: use `async with uow:`")
        self.committed = True

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        saved = self.db.snapshot()
        try:
            yield
        except BaseException:
            self.db.restore(saved)
            raise


class FakeUnitOfWorkFactory:
    """A UnitOfWorkFactory over one shared FakeDatabase; remembers the units it made."""

    def __init__(self, db: FakeDatabase | None = None) -> None:
        self.db = db if db is not None else FakeDatabase()
        self.made: list[FakeUnitOfWork] = []

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.db)
        self.made.append(uow)
        return uow


# The world's stores: sales name a store (and a terminal) that exists, as the foreign keys want.
STORE = UUID("00000000-0000-0000-0000-00000000a001")
OTHER_STORE = UUID("00000000-0000-0000-0000-00000000a002")
TERMINAL = UUID("00000000-0000-0000-0000-00000000b001")  # a till of STORE
_OPENED = datetime(2025, 1, 1, tzinfo=UTC)


class FakeWorld:
    """Everything a use case may ask for, wired together over one FakeDatabase, which holds
    two stores (``STORE`` with the till ``TERMINAL``, and ``OTHER_STORE``) unless told not to."""

    def __init__(self, *, stores: bool = True) -> None:
        self.db = FakeDatabase()
        if stores:
            self._open_stores()
        self.uow_factory = FakeUnitOfWorkFactory(self.db)
        self.clock = FixedClock()
        self.ids = SequentialIds()
        self.random = SequenceRandom()
        self.contacts = FakeContacts()

    def _open_stores(self) -> None:
        stores = self.db.stores
        stores.stores[STORE] = Store(STORE, "WORLD-A", "World store A", _OPENED)
        stores.stores[OTHER_STORE] = Store(OTHER_STORE, "WORLD-B", "World store B", _OPENED)
        stores.terminals[TERMINAL] = Terminal(TERMINAL, STORE, "till-1", "unused", _OPENED)

    def uow(self) -> FakeUnitOfWork:
        return self.uow_factory()


async def enrol(world: FakeWorld, phone: str = "13800138000", **details: Any) -> UUID:
    """A member enrolled through the use case, as a till enrols one; returns their id."""
    cmd = EnrolMember(phone=phone, **details)
    summary = await write(
        world.uow_factory,
        lambda uow: enrol_member(
            cmd, uow, clock=world.clock, ids=world.ids, random=world.random, contacts=world.contacts
        ),
    )
    return summary.member_id


def _conforms(db: FakeDatabase) -> tuple[object, ...]:
    """Never called: lets mypy check the fakes against the ports' Protocols (the unit of work's
    properties check every repository fake)."""
    uow: UnitOfWork = FakeUnitOfWork(db)
    factory: UnitOfWorkFactory = FakeUnitOfWorkFactory(db)
    limiter: RateLimiter = FakeRateLimiter()
    sms: SmsSender = RecordingSms()
    notifier: MemberNotifier = RecordingMemberNotifier()
    box: SecretBox = FakeSecretBox()
    clock: Clock = FixedClock()
    random: RandomSource = SequenceRandom()
    ids: IdGenerator = SequentialIds()
    contacts: ContactNormaliser = FakeContacts()
    return (uow, factory, limiter, sms, notifier, box, clock, random, ids, contacts)
