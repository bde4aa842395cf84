from __future__ import annotations

from datetime import datetime

from adapters.persistence import session
from app.idempotency_store import IdempotencyClaim, StoredResponse

# ON CONFLICT waits for a concurrent transaction holding the same key and then does nothing,
# so the SELECT below (a statement of its own, with a snapshot taken after that wait) sees the
# answer that transaction committed. The configuration epoch rides along: the claim is the
# first statement of every idempotent write, and the epoch saves the unit of work a round trip
# when it reads its configuration (see session.configuration).
_CLAIM = """
WITH claimed AS (
    INSERT INTO idempotency_keys (caller, key, request_hash, created_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (caller, key) DO NOTHING
    RETURNING id
)
SELECT (SELECT id FROM claimed) AS claimed_id,
       (SELECT epoch FROM config_epoch WHERE id = 1) AS config_epoch
"""

_ANSWERED = """
SELECT request_hash, status_code, media_type, response_body FROM idempotency_keys
WHERE caller = $1 AND key = $2
"""


class PostgresIdempotencyStore:
    async def claim(
        self, caller: str, key: str, request_hash: str, now: datetime
    ) -> IdempotencyClaim:
        db = session.connection()
        claimed = await db.fetchrow(_CLAIM, caller, key, request_hash, now)
        session.configuration_epoch_seen(claimed["config_epoch"])
        if claimed["claimed_id"] is not None:
            session.active().claimed_keys[(caller, key)] = claimed["claimed_id"]
            return IdempotencyClaim(request_hash=request_hash)
        row = await db.fetchrow(_ANSWERED, caller, key)
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
        # The answer is the transaction's last write and nothing reads it before the commit:
        # it goes with the COMMIT, one round trip for both. Nothing from the request is
        # inlined but hex digits (session.literal), and ints. The row is found by the id its
        # claim returned: PostgreSQL cannot match `caller = convert_from(...)` to the unique
        # index, and a sequential scan of every key ever kept, per sale, is what that cost.
        row_id = session.active().claimed_keys.get((caller, key))
        if row_id is None:
            raise RuntimeError("an answer is remembered only for a key claimed in this transaction")
        session.at_commit(
            f"UPDATE idempotency_keys SET status_code = {int(response.status_code)}, "  # noqa: S608
            f"media_type = {session.literal(response.media_type)}, "
            f"response_body = {session.bytes_literal(response.body)} "
            f"WHERE id = {int(row_id)}"
        )

    async def purge_older_than(self, cutoff: datetime) -> int:
        status = await session.connection().execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1", cutoff
        )
        return int(status.split()[-1])
