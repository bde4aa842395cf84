"""Glue between an HTTP request and the idempotent-write runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.params import HeaderParameter

from adapters.http.problems import render_domain_error
from app.container import Container
from app.idempotency import request_fingerprint, run_idempotently
from app.idempotency_store import StoredResponse
from app.principal import Principal
from app.unit_of_work import UnitOfWork

# Printable ASCII: a header value has no business with control characters (NUL cannot even be
# stored in PostgreSQL's text), and bytes beyond ASCII reach the service as Latin-1 guesses.
KEY_PATTERN = r"^[\x20-\x7e]+$"

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=KEY_PATTERN,
        description=(
            "Repeat it to retry safely: the same key with the same body returns the first "
            "answer and applies nothing twice; with another body it is 409."
        ),
    ),
]

# The POSTs that only read (a quote, a tier simulation) take a key but need none.


def _read_key(description: str) -> Any:
    return Annotated[
        str | None,
        HeaderParameter(
            name="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=KEY_PATTERN,
            required=False,
            description=description,
        ),
    ]


QuoteKey = _read_key(
    "Optional: a quote only reads. Without a key every quote is priced afresh and nothing is "
    "stored; with one (1-255 printable ASCII characters) the first answer is kept and a "
    "repeat of the key gets it back, like a write's."
)
SimulationKey = _read_key(
    "Optional and unused: a simulation only reads and stores nothing, so a repeat recomputes."
)

Action = Callable[[UnitOfWork], Awaitable[tuple[int, msgspec.Struct]]]
# What of an answer may be kept for a retry: the answer without what must be shown only once.
Remembered = Callable[[Any], msgspec.Struct]


async def respond_idempotently(
    request: Request[Any, Any, Any],
    container: Container,
    principal: Principal,
    key: str,
    action: Action,
    *,
    remembered: Remembered | None = None,
) -> Response[Any]:
    """Runs ``action`` once per key. With ``remembered``, the first caller gets the whole
    answer and the database keeps (and a retry gets) ``remembered(answer)`` only: a secret
    shown once is never stored, not even for the 48 hours a key lives."""
    body = await request.body()
    shown_once: list[StoredResponse] = []

    async def operation(uow: UnitOfWork) -> StoredResponse:
        status, payload = await action(uow)
        whole = StoredResponse(status, msgspec.json.encode(payload), "application/json")
        if remembered is None:
            return whole
        kept = StoredResponse(status, msgspec.json.encode(remembered(payload)), "application/json")
        shown_once[:] = [kept, whole]
        return kept

    stored = await run_idempotently(
        container.uow,
        container.clock,
        caller=principal.caller_key,
        key=key,
        request_hash=request_fingerprint(request.method, request.url.path, body),
        operation=operation,
        render_error=render_domain_error,
    )
    if shown_once and stored is shown_once[0]:
        # This request ran the operation and it committed: the whole answer is its own.
        stored = shown_once[1]
    return Response(
        content=stored.body, status_code=stored.status_code, media_type=stored.media_type
    )
