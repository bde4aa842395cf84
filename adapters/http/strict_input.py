"""Where HTTP input enters: JSON bodies decoded strictly, and query strings screened.

Litestar decodes a body into Python objects and then converts them into the handler's type
with ``msgspec.convert(..., strict=False)``, which takes "1" for an integer, a number for a
time, 0 and "1" for booleans, the last of two equal keys, a body of any Content-Type, and
recurses into any depth. ``StrictRequest`` replaces that decoding for every route that takes
a JSON body: it requires ``application/json`` (415 ``unsupported_media_type``) and decodes
the raw bytes straight into the handler's declared type with ``adapters.http.strict_json``;
the struct it returns passes Litestar's own conversion unchanged. The OpenAPI document is
generated from the handlers' signatures as before, plus the 415 those routes may answer.
"""

from __future__ import annotations

from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Litestar, Request
from litestar.enums import ScopeType
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.types import (
    ASGIApp,
    Empty,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

from adapters.http.idempotency import (
    HEADER,
    MAX_KEY_LENGTH,
    VALID_KEY,
    requires_idempotency_key,
)
from adapters.http.problems import PROBLEM_JSON, ProblemException, problem_body
from adapters.http.schemas.problem import problems
from adapters.http.strict_json import InvalidField, MalformedBody, decode

JSON = "application/json"
UNSTORABLE_PARAMETER = "holds a character that cannot be stored (NUL)"
UNDECODABLE_PARAMETER = "is not UTF-8 text"
# For a free-text query parameter: the query string is decoded as UTF-8 with replacement, so
# bytes that are not UTF-8 (a lone surrogate, FF FE) arrive as U+FFFD. Refused (422) rather
# than searched for or stored as a character nobody sent.
DECODABLE_TEXT = "^[^\ufffd]+$"


def require_json(request: Request[Any, Any, Any], expected: str = JSON) -> None:
    """415 unless the body is declared JSON (in UTF-8, the only encoding JSON has), of the
    media type the route takes: ``application/json``, or a JSON type of its own such as
    ``application/merge-patch+json``."""
    media_type, options = request.content_type
    charset = options.get("charset", "utf-8").lower()
    if media_type != expected or charset not in {"utf-8", "utf8"}:
        raise ProblemException(
            415,
            "unsupported_media_type",
            f"this operation takes a JSON body: send it with Content-Type: {expected}",
        )


def body_media_type(handler: HTTPRouteHandler) -> str:
    """The media type a route's body is declared in (``Body(media_type=...)``), JSON by
    default; every one of them is JSON text and decoded strictly."""
    field = handler.parsed_data_field
    declared = getattr(field.kwarg_definition, "media_type", None) if field else None
    if isinstance(declared, Enum):
        declared = declared.value
    if isinstance(declared, str) and declared.endswith("json"):
        return declared
    return JSON


def decode_body(raw: bytes, shape: Any) -> Any:
    """``raw`` decoded strictly as ``shape``; 400 or 422 problems when it is not one."""
    try:
        return decode(raw, shape)
    except MalformedBody as error:
        raise ProblemException(400, error.code, error.detail) from None
    except InvalidField as error:
        raise ValidationException(
            detail=f"{error.path}: {error.message}",
            extra=[{"key": error.path, "source": "body", "message": error.message}],
        ) from None


def require_key_first(request: Request[Any, Any, Any]) -> None:
    """An operation that requires an Idempotency-Key refuses a request without a valid one
    before it reads the body: the missing key is the first thing to fix (400
    idempotency_key_invalid), whatever the body holds. Body-less operations get the same
    answer from the header parameter itself."""
    if not requires_idempotency_key(request.route_handler):
        return
    key = request.headers.get(HEADER)
    if key is None or not 1 <= len(key) <= MAX_KEY_LENGTH or not VALID_KEY.match(key):
        raise ValidationException(
            detail=f"'{HEADER}' header missing or invalid",
            extra=[{"key": "idempotency_key", "source": "header", "message": "missing or invalid"}],
        )


class StrictRequest(Request[Any, Any, Any]):
    """The application's request class: ``json()`` is the strict decoding of the body."""

    async def json(self) -> Any:
        if self._json is Empty:
            cached = self._connection_state.json
            if cached is not Empty:
                self._json = cached
            else:
                require_key_first(self)
                require_json(self, body_media_type(self.route_handler))
                field = self.route_handler.parsed_data_field
                shape = field.annotation if field is not None else Any
                self._json = self._connection_state.json = decode_body(await self.body(), shape)
        return self._json


def document_json_bodies(app: Litestar) -> None:
    """Adds 415 to the documented answers of every operation that takes a JSON body."""
    spec = problems(415)[415]
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler) and handler.parsed_data_field is not None:
                handler.responses = {**(handler.responses or {}), 415: spec}


def refused_query_parameter(query: bytes) -> tuple[str, str] | None:
    """The first query parameter that holds NUL or bytes that are not UTF-8, with why.

    The server decodes query strings as UTF-8 with replacement, so such bytes would reach a
    handler as U+FFFD, a character nobody sent, and be searched for or stored as it."""
    if b"%" not in query and b"\x00" not in query and query.isascii():
        return None
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    for name, value in pairs:
        raw = (name + value).encode("latin-1")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return _field_name(name), UNDECODABLE_PARAMETER
        if b"\x00" in raw:
            return _field_name(name), UNSTORABLE_PARAMETER
    return None


def _field_name(name: str) -> str:
    decoded = name.encode("latin-1").decode("utf-8", errors="replace").replace("\x00", "")
    return decoded or "query"


def refuse_unstorable_query(app: ASGIApp) -> ASGIApp:
    """422 for a query parameter holding NUL, which PostgreSQL cannot store in text, or bytes
    that are not UTF-8 (see ``refused_query_parameter``); path parameters are UUIDs and integers.
    This runs before authentication, like the server's own refusal of a malformed request line: it
    says nothing about the schema. It answers itself rather than raising, so that the
    request id and the access log still see the answer.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        query: bytes = scope.get("query_string", b"") if scope["type"] == ScopeType.HTTP else b""
        refused = refused_query_parameter(query) if query else None
        if refused is not None:
            field, message = refused
            body = problem_body(
                422,
                "validation_error",
                "The request does not match the schema",
                f"{field}: {message}",
                errors=[{"field": field, "source": "query", "message": message}],
            )
            payload = msgspec.json.encode(body)
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
            end: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": payload,
                "more_body": False,
            }
            await send(start)
            await send(end)
            return
        await app(scope, receive, send)

    return middleware
