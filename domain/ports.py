"""Ports the core needs from the outside world: time, randomness and identifiers.

Repositories, the unit of work and outbound ports live next to the use cases that need them
(:mod:`domain.repositories`); these three are needed by the rules themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class RandomSource(Protocol):
    def randbelow(self, exclusive_upper_bound: int) -> int:
        """A uniformly distributed integer in [0, exclusive_upper_bound)."""
        ...

    def token_bytes(self, n: int) -> bytes: ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...
