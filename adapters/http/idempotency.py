"""Glue between an HTTP request and the idempotent-write runner."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Litestar, Request, Response
from litestar.handlers import HTTPRouteHandler
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
VALID_KEY = re.compile(KEY_PATTERN)
MAX_KEY_LENGTH = 255

HEADER = "Idempotency-Key"

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name=HEADER,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
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
PreviewKey = _read_key(
    "Optional and unused: a preview only renders sample data and stores nothing."
)

# What the OpenAPI document says on every operation that takes the key (see
# document_idempotent_operations): the parameter alone is easy to miss in a long list.
REQUIRES_KEY = (
    "**Requires an `Idempotency-Key` header** (1-255 printable ASCII characters; without one "
    "400 `idempotency_key_invalid`). The same key with the same request answers the first "
    "answer again and applies nothing twice; the same key with another request is 409 "
    "`idempotency_key_reused`."
)


def requires_idempotency_key(handler: HTTPRouteHandler) -> bool:
    """Whether the operation takes an Idempotency-Key: its handler declares the header
    parameter (``IdempotencyKey``), which is what makes the request refused without one and
    what it hands to ``respond_idempotently``. The OpenAPI document, the contract's list and
    their test all ask this one question."""
    return any(
        isinstance(p.kwarg_definition, HeaderParameter)
        and p.kwarg_definition.name == HEADER
        and p.kwarg_definition.required is not False  # a read-only POST's key is optional
        for p in handler.parsed_fn_signature.parameters.values()
    )


def idempotent_handlers(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    """(method, path, handler) of every operation that requires the key."""
    found: list[tuple[str, str, HTTPRouteHandler]] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler) and requires_idempotency_key(handler):
                for method in sorted(handler.http_methods):
                    found.append((method, route.path, handler))
    return found


def document_idempotent_operations(app: Litestar) -> None:
    """Says on each operation that requires an Idempotency-Key that it does."""
    for _, _, handler in idempotent_handlers(app):
        description = handler.description or ""
        if REQUIRES_KEY not in description:
            handler.description = f"{description}\n\n{REQUIRES_KEY}".strip()


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
