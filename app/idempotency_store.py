"""Port for remembered answers to idempotent requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """Either this request now owns the key (``replay`` is None) or it was answered before."""

    request_hash: str
    replay: StoredResponse | None = None


class IdempotencyStore(Protocol):
    async def claim(
        self, caller: str, key: str, request_hash: str, now: datetime
    ) -> IdempotencyClaim:
        """Takes the key for this transaction, waiting for a concurrent holder to finish.

        Returns the earlier answer (with the earlier request's hash) if the key was used.
        """
        ...

    async def remember(self, caller: str, key: str, response: StoredResponse) -> None: ...

    async def purge_older_than(self, cutoff: datetime) -> int: ...
