"""The composition root's product: every port the driving adapters use, built at start-up.

A typed set of ports, nothing else: no engine, no pool, no adapter type. The wiring
(app.wiring.composition) builds it; HTTP controllers read it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from app import transactions
from app.health import DatabaseProbe
from app.principal import Tokens
from app.read_models import LedgerSources, MemberReads
from app.reports import Reports
from app.settings import Settings
from app.transactions import ReplicaReads
from app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from app.use_cases.login import LoginPorts
from app.use_cases.staff import StaffPorts
from app.use_cases.stores import TerminalStanding
from app.webhook_signatures import WebhookSignatures
from domain.card_tokens import CardTokenCodec
from domain.contacts import ContactNormaliser
from domain.member_search import MemberDirectory
from domain.messages import MessageRenderer
from domain.notifications import MemberNotifier, SecretBox, SmsSender
from domain.ports import Clock, IdGenerator, RandomSource
from domain.sale_dating import SaleDating
from domain.staff import IdentityProvider

T = TypeVar("T")


@dataclass
class Container:
    settings: Settings
    clock: Clock
    random: RandomSource
    ids: IdGenerator
    contacts: ContactNormaliser
    uow: UnitOfWorkFactory
    tokens: Tokens
    database: DatabaseProbe
    # The back office's set-based reports.
    reports: Reports
    # Webhook signatures, checked before a body is parsed.
    shop_signatures: WebhookSignatures
    stripe_signatures: WebhookSignatures
    # Member login, card codes and notifications.
    login: LoginPorts
    card_tokens: CardTokenCodec
    sms: SmsSender
    member_notifier: MemberNotifier
    # The till's and the app's member reads, one statement each.
    member_reads: MemberReads
    # Whether a POS token's terminal is still active, under the same secret, on every request.
    terminal_standing: TerminalStanding
    # The back office's member search.
    member_directory: MemberDirectory
    # What a ledger entry's sale or refund was: receipt, store, channel.
    ledger_sources: LedgerSources
    # Message templates: the sandboxed renderer behind the admins' save and preview.
    message_renderer: MessageRenderer
    # Seals the signing secrets of outbound webhook endpoints.
    webhook_secrets: SecretBox
    # Staff accounts and console sessions (None only in tests that need no console).
    staff: StaffPorts | None = None
    # The console's reads on the read replica, when one is set (docs/operations.md).
    replica_reads: ReplicaReads | None = None
    # Staff login through an OpenID Connect provider; None when it is not configured.
    identity_provider: IdentityProvider | None = None

    async def read(self, query: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """A read of the back office: on the replica when one is set, else as
        ``transactions.read`` on the primary."""
        if self.replica_reads is None:
            return await transactions.read(self.uow, query)
        return await self.replica_reads(query)

    @property
    def sale_dating(self) -> SaleDating:
        """How far from now sales may be dated (LOYALTY_MAX_BACKDATE_DAYS)."""
        return SaleDating.of_days(self.settings.max_backdate_days)
