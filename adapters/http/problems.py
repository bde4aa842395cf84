"""RFC 9457 problem details: the one mapping from errors to HTTP answers.

Every error leaves the service as application/problem+json with a stable ``code``; nothing
ever shows a stack trace.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)

from adapters.http.strict_json import ENUM_REFUSAL, ROOT, allowed_values, with_allowed
from adapters.observability import DATABASE_UNAVAILABLE
from app.health import ConfigurationUnavailable
from app.idempotency_store import StoredResponse
from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    RateLimited,
)

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("loyalty.http")


class ProblemException(HTTPException):
    """An HTTP-level refusal (authentication, headers, limits) with its stable code."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.code = code


def unauthenticated(detail: str) -> ProblemException:
    return ProblemException(
        401, "unauthenticated", detail, headers={"WWW-Authenticate": 'Bearer realm="loyalty"'}
    )


def forbidden(detail: str) -> ProblemException:
    return ProblemException(403, "forbidden", detail)


def status_for(error: DomainError) -> int:
    if isinstance(error, InvalidCredentials):
        return 401
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, RateLimited):
        return 429
    return 422


def problem_body(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **{k: v for k, v in extra.items() if v is not None},
    }


def domain_problem(error: DomainError) -> tuple[int, dict[str, Any]]:
    status = status_for(error)
    fields = error.fields if isinstance(error, InvalidInput) else ()
    extra: dict[str, Any] = dict(error.extras())
    if fields:
        extra["errors"] = [{"field": field, "message": error.detail} for field in fields]
    return status, problem_body(status, error.code, error.title, error.detail, **extra)


def render_domain_error(error: DomainError) -> StoredResponse:
    """The same answer as the exception handler gives, as bytes an idempotency key can keep."""
    status, body = domain_problem(error)
    return StoredResponse(status, msgspec.json.encode(body), PROBLEM_JSON)


def _problem(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def handle_domain_error(_: Request[Any, Any, Any], error: DomainError) -> Response[Any]:
    status, body = domain_problem(error)
    headers = None
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    return _problem(status, body, headers)


_MISSING_PARAMETER = re.compile(
    r"^Missing required (?P<source>query|header|path|cookie) parameter '(?P<name>[^']+)'"
)


def _with_allowed_values(request: Request[Any, Any, Any], error: dict[str, Any]) -> dict[str, Any]:
    """An enum refused in a query, path or header parameter, with the values it allows (a
    body's are added where bodies are decoded, adapters/http/strict_json.py)."""
    message = error["message"]
    if error["source"] == "body" or not isinstance(message, str) or ENUM_REFUSAL not in message:
        return error
    try:
        parameter = request.route_handler.parsed_fn_signature.parameters.get(error["field"])
        allowed = allowed_values(parameter.annotation, ROOT) if parameter else None
    except Exception:  # an annotation msgspec cannot inspect: the message stays as it was
        allowed = None
    return {**error, "message": with_allowed(message, allowed)} if allowed else error


def handle_validation_error(
    request: Request[Any, Any, Any], error: ValidationException
) -> Response[Any]:
    detail = str(error.detail)
    errors = [
        _with_allowed_values(
            request,
            {
                "field": item.get("key"),
                "source": item.get("source"),
                "message": item.get("message"),
            },
        )
        for item in (error.extra if isinstance(error.extra, list) else [])
        if isinstance(item, dict)
    ]
    missing = _MISSING_PARAMETER.match(detail)
    if not errors and missing:
        # Litestar names a missing parameter only in its detail.
        errors = [{"field": missing["name"], "source": missing["source"], "message": "required"}]
    if "'Idempotency-Key'" in detail or any(
        e["source"] == "header" and e["field"] == "idempotency_key" for e in errors
    ):
        body = problem_body(
            400,
            "idempotency_key_invalid",
            "Idempotency-Key header missing or invalid",
            "send an Idempotency-Key header of 1 to 255 printable ASCII characters",
        )
        return _problem(400, body)
    body = problem_body(
        422,
        "validation_error",
        "The request does not match the schema",
        "; ".join(f"{e['field']}: {e['message']}" for e in errors) or detail,
        errors=errors or None,
    )
    return _problem(422, body)


_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}


def handle_http_exception(_: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    code = getattr(error, "code", None) or _CODES_BY_STATUS.get(status, "http_error")
    if status == 400 and not isinstance(error, ProblemException):
        # Litestar's own 400s come from bodies that do not decode (truncated, not JSON).
        code = "malformed_request"
    if isinstance(error, NotAuthorizedException) and not getattr(error, "code", None):
        code = "unauthenticated"
    if isinstance(error, PermissionDeniedException) and not getattr(error, "code", None):
        code = "forbidden"
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if status >= 500:
        log.error("http_error", status=status, detail=error.detail)
        detail = title
    else:
        detail = str(error.detail)
    return _problem(status, problem_body(status, code, title, detail), error.headers)


def handle_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if isinstance(error, ConfigurationUnavailable):
        # Logged with every refused row when the configuration was read; GET /health lists
        # them. Not the caller's fault, and over once the rows are repaired.
        body = problem_body(
            503,
            "configuration_unavailable",
            "Service Unavailable",
            "the programme's configuration cannot be read; an operator must repair it",
        )
        return _problem(503, body, {"Retry-After": "30"})
    unavailable = _is_database_unavailable(error)
    if unavailable:
        # An outage answers hundreds of requests a second: one line each, no traceback.
        log.warning("database_unavailable", error_type=type(error).__name__)
        DATABASE_UNAVAILABLE.inc()
        body = problem_body(
            503, "service_unavailable", "Service Unavailable", "the database is unavailable"
        )
        return _problem(503, body, {"Retry-After": "2"})
    log.exception("unhandled_error", path=request.url.path, error_type=type(error).__name__)
    body = problem_body(500, "internal_error", "Internal Server Error", "an unexpected error")
    return _problem(500, body)


def _is_database_unavailable(error: Exception) -> bool:
    import asyncpg

    return isinstance(
        error,
        OSError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.PostgresConnectionError
        # asyncpg's state machine when the server vanishes in the middle of an operation.
        | asyncpg.exceptions.InternalClientError
        | asyncpg.exceptions.TooManyConnectionsError
        | asyncpg.exceptions.AdminShutdownError,
    ) or (
        # The pool hands back a connection that broke under an operation; asyncpg says so
        # only in the message (tests/e2e/test_chaos.py stops PostgreSQL under load).
        isinstance(error, asyncpg.exceptions.InterfaceError)
        and any(sign in str(error) for sign in _BROKEN_CONNECTION)
    )


_BROKEN_CONNECTION = ("released back to the pool", "connection is closed")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
