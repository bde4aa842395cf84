from __future__ import annotations

from datetime import datetime

from adapters.persistence.tables import IdempotencyKeyRow
from app.idempotency_store import IdempotencyClaim, StoredResponse


class PostgresIdempotencyStore:
    async def claim(
        self, caller: str, key: str, request_hash: str, now: datetime
    ) -> IdempotencyClaim:
        # ON CONFLICT waits for a concurrent transaction holding the same key and then does
        # nothing, so the SELECT below sees the answer that transaction committed.
        inserted = (
            await IdempotencyKeyRow.insert(
                IdempotencyKeyRow(caller=caller, key=key, request_hash=request_hash, created_at=now)
            )
            .on_conflict(
                target=(IdempotencyKeyRow.caller, IdempotencyKeyRow.key), action="DO NOTHING"
            )
            .returning(IdempotencyKeyRow.id)
        )
        if inserted:
            return IdempotencyClaim(request_hash=request_hash)
        row = (
            await IdempotencyKeyRow.select(
                IdempotencyKeyRow.request_hash,
                IdempotencyKeyRow.status_code,
                IdempotencyKeyRow.media_type,
                IdempotencyKeyRow.response_body,
            )
            .where((IdempotencyKeyRow.caller == caller) & (IdempotencyKeyRow.key == key))
            .first()
        )
        if row is None or row["status_code"] is None:
            # Only possible if the row was purged between the two statements.
            raise RuntimeError("idempotency key vanished while being claimed")
        return IdempotencyClaim(
            request_hash=row["request_hash"],
            replay=StoredResponse(
                status_code=row["status_code"],
                body=bytes(row["response_body"]),
                media_type=row["media_type"],
            ),
        )

    async def remember(self, caller: str, key: str, response: StoredResponse) -> None:
        await IdempotencyKeyRow.update(
            {
                IdempotencyKeyRow.status_code: response.status_code,
                IdempotencyKeyRow.media_type: response.media_type,
                IdempotencyKeyRow.response_body: response.body,
            }
        ).where((IdempotencyKeyRow.caller == caller) & (IdempotencyKeyRow.key == key))

    async def purge_older_than(self, cutoff: datetime) -> int:
        deleted = (
            await IdempotencyKeyRow.delete()
            .where(IdempotencyKeyRow.created_at < cutoff)
            .returning(IdempotencyKeyRow.id)
        )
        return len(deleted)
