"""Idempotent writes: a retried request gets the first answer and changes nothing again.

The key is claimed as the first statement of the transaction that performs the write and the
answer is stored in that same transaction, so "applied" and "remembered" commit together. A
concurrent request with the same key waits on the key's row and then replays the answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable

from app.idempotency_store import StoredResponse
from app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.errors import DomainError, IdempotencyKeyReused
from domain.ports import Clock

Operation = Callable[[UnitOfWork], Awaitable[StoredResponse]]
ErrorRenderer = Callable[[DomainError], StoredResponse]


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Hash of what makes two requests "the same": method, path and the body's JSON value.

    The body is canonicalised so that a retry that re-serialises the same JSON with other
    spacing or key order is still recognised as the same request.
    """
    try:
        canonical = json.dumps(
            json.loads(body or b"null"), sort_keys=True, separators=(",", ":")
        ).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def run_idempotently(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    caller: str,
    key: str,
    request_hash: str,
    operation: Operation,
    render_error: ErrorRenderer,
) -> StoredResponse:
    async with uow_factory() as uow:
        claim = await uow.idempotency.claim(caller, key, request_hash, clock.now())
        if claim.replay is not None:
            if claim.request_hash != request_hash:
                raise IdempotencyKeyReused()
            return claim.replay
        try:
            async with uow.savepoint():
                response = await operation(uow)
        except DomainError as error:
            # A refusal is an answer too: the retry must hear the same refusal, not a success
            # that became possible in the meantime.
            response = render_error(error)
        await uow.idempotency.remember(caller, key, response)
        await uow.commit()
        return response
