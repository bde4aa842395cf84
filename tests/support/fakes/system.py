"""Clock, randomness, identifiers and contact normalisation: the small ports of the core."""

from __future__ import annotations

import random as _random
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.errors import InvalidEmail, InvalidPhoneNumber


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)) -> None:
        self.set(now)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


class SequenceRandom:
    """``randbelow`` answers the scripted values first, then a seeded ``random.Random``."""

    def __init__(self, values: Sequence[int] = (), seed: int = 1234) -> None:
        self._values = list(values)
        self._rng = _random.Random(seed)

    def randbelow(self, exclusive_upper_bound: int) -> int:
        if self._values:
            value = self._values.pop(0)
            if not 0 <= value < exclusive_upper_bound:
                raise ValueError(f"scripted {value} is not below {exclusive_upper_bound}")
            return value
        return self._rng.randrange(exclusive_upper_bound)

    def token_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)


class SequentialIds:
    """UUIDs 00000000-...-000000000001, ...-000000000002, ... in order."""

    def __init__(self, start: int = 1) -> None:
        self._next = start
        self.issued: list[UUID] = []

    def new_id(self) -> UUID:
        value = UUID(int=self._next)
        self._next += 1
        self.issued.append(value)
        return value


_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164: no leading zero after the '+'
_CN_MOBILE = re.compile(r"1[0-9]{10}")


class FakeContacts:
    """'+' and 7-15 digits as is; an 11-digit Chinese mobile number gets '+86'."""

    def phone(self, raw: str) -> str:
        compact = re.sub(r"[\s-]", "", raw)
        if _INTERNATIONAL.fullmatch(compact):
            return compact
        if _CN_MOBILE.fullmatch(compact):
            return "+86" + compact
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number", field="phone")

    def email(self, raw: str) -> str:
        address = raw.strip().lower()
        if "@" not in address:
            raise InvalidEmail(field="email")
        return address
