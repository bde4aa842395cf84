"""The composition root's product: every port wired to its adapter, built at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.settings import Settings
from app.unit_of_work import UnitOfWorkFactory
from domain.contacts import ContactNormaliser
from domain.ports import Clock, IdGenerator, RandomSource


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
