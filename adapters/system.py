"""The real clock, the cryptographic random source and UUID generation."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class CryptoRandom:
    """Backed by the operating system's CSPRNG: card numbers and secrets must be unguessable."""

    def randbelow(self, exclusive_upper_bound: int) -> int:
        return secrets.randbelow(exclusive_upper_bound)

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


class UuidGenerator:
    def new_id(self) -> uuid.UUID:
        return uuid.uuid4()
