"""Idempotent writes: a retried request gets the first answer and changes nothing again.

The key is claimed as the first statement of the transaction that performs the write and the
answer is stored in that same transaction, so "applied" and "remembered" commit together. A
concurrent request with the same key waits on the key's row and then replays the answer. A
refusal (a domain error) rolls the operation back and is remembered in a transaction of its
own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable

from app.idempotency_store import IdempotencyClaim, StoredResponse
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
            return _replayed(claim, request_hash)
        try:
            response = await operation(uow)
        except DomainError as error:
            # A refusal is an answer too: the retry must hear the same refusal, not a success
            # that became possible in the meantime.
            refusal = render_error(error)
        else:
            await uow.idempotency.remember(caller, key, response)
            await uow.commit()
            return response
    # The refused operation's writes went with its transaction (a savepoint around every
    # operation would cost two statements on every success). The refusal is remembered in a
    # new one. Should a retry have claimed the key in between, it ran the operation and its
    # answer is the key's: this request gets it too.
    async with uow_factory() as uow:
        claim = await uow.idempotency.claim(caller, key, request_hash, clock.now())
        if claim.replay is not None:
            return _replayed(claim, request_hash)
        await uow.idempotency.remember(caller, key, refusal)
        await uow.commit()
        return refusal


def _replayed(claim: IdempotencyClaim, request_hash: str) -> StoredResponse:
    if claim.request_hash != request_hash:
        raise IdempotencyKeyReused()
    assert claim.replay is not None
    return claim.replay
