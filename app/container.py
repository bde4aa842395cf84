"""The composition root's product: every port wired to its adapter, built at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.read_models import MemberReads
from app.settings import Settings
from app.unit_of_work import UnitOfWorkFactory
from app.use_cases.login import LoginPorts
from domain.card_tokens import CardTokenCodec
from domain.contacts import ContactNormaliser
from domain.notifications import MemberNotifier, SmsSender
from domain.ports import Clock, IdGenerator, RandomSource
from domain.sale_dating import SaleDating


@dataclass
class Container:
    settings: Settings
    clock: Clock
    random: RandomSource
    ids: IdGenerator
    contacts: ContactNormaliser
    uow: UnitOfWorkFactory
    tokens: Any  # the HTTP adapter's TokenService; typed loosely so app/ stays adapter-free
    engine: Any = None
    # Member login, card codes and notifications; always set by the composition root.
    login: LoginPorts | None = None
    card_tokens: CardTokenCodec | None = None
    sms: SmsSender | None = None
    member_notifier: MemberNotifier | None = None
    # The till's and the app's member reads, one statement each.
    member_reads: MemberReads | None = None

    @property
    def sale_dating(self) -> SaleDating:
        """How far from now sales may be dated (LOYALTY_MAX_BACKDATE_DAYS)."""
        return SaleDating.of_days(self.settings.max_backdate_days)
