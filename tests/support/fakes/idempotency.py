"""The idempotency store: keys claimed and the answers stored for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.idempotency_store import IdempotencyClaim, StoredResponse


@dataclass(slots=True)
class _KeyRow:
    request_hash: str
    created_at: datetime
    response: StoredResponse | None = None


class FakeIdempotencyStore:
    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], _KeyRow] = {}

    async def claim(
        self, caller: str, key: str, request_hash: str, now: datetime
    ) -> IdempotencyClaim:
        row = self.keys.get((caller, key))
        if row is None:
            self.keys[(caller, key)] = _KeyRow(request_hash, now)
            return IdempotencyClaim(request_hash=request_hash)
        if row.response is None:
            # With a database this would wait for the concurrent holder; here nobody else runs.
            raise RuntimeError(f"key {key!r} is claimed but unanswered in this transaction")
        return IdempotencyClaim(request_hash=row.request_hash, replay=row.response)

    async def remember(self, caller: str, key: str, response: StoredResponse) -> None:
        self.keys[(caller, key)].response = response

    async def purge_older_than(self, cutoff: datetime) -> int:
        old = [k for k, row in self.keys.items() if row.created_at < cutoff]
        for k in old:
            del self.keys[k]
        return len(old)
