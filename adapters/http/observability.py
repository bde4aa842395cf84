"""What operators see of each request: a request id in every log line and in the answer, one
access log line, and Prometheus metrics per route at /metrics.

Access lines name the route template, never the concrete path or the query string: a lookup's
query holds a phone number, and paths hold member ids.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any
from uuid import uuid4

import structlog
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusController
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_NAME = REQUEST_ID_HEADER.encode()
# A caller's own id is kept (it ties their logs to ours) only if it cannot inject anything.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
log = structlog.get_logger("loyalty.http")

APP_NAME = "loyalty"
# The series Litestar's Prometheus middleware exported, under the same names and labels
# (method, route template as "path", status code, app name), kept by request_context_middleware
# below for a fraction of the CPU: that middleware built a Request and looked up four
# labelled children on every request; here each (method, route, status) child is looked up
# once per process. Routes are templates, so the number of children stays small.
_LABELS = ("method", "path", "status_code", "app_name")
REQUESTS = Counter("loyalty_requests_total", "Total requests", _LABELS)
REQUEST_SECONDS = Histogram(
    "loyalty_request_duration_seconds", "Request duration, in seconds", _LABELS
)
IN_PROGRESS = Gauge(
    "loyalty_requests_in_progress",
    "Total requests currently in progress",
    _LABELS,
    multiprocess_mode="livesum",
)
ERRORS = Counter("loyalty_requests_error_total", "Total errors in requests", _LABELS)
# Not counted: Prometheus' own scrapes.
_UNMEASURED = frozenset({"/metrics"})


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == _REQUEST_ID_NAME:
            text = value.decode("latin-1")
            return text if _SAFE_REQUEST_ID.match(text) else None
    return None


@functools.cache
def _in_progress(method: str, route: str) -> Any:
    # Litestar's middleware counted requests in progress under status 200, whatever came.
    return IN_PROGRESS.labels(method, route, 200, APP_NAME)


@functools.cache
def _finished(method: str, route: str, status: int) -> tuple[Any, Any, Any]:
    labels = (method, route, status, APP_NAME)
    errors = ERRORS.labels(*labels) if status >= HTTP_500_INTERNAL_SERVER_ERROR else None
    return REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels), errors


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid4().hex
        id_header = (_REQUEST_ID_NAME, request_id.encode())
        started = time.perf_counter()
        method: str = scope["method"]
        route: str = scope.get("path_template", "unmatched")
        measured = route not in _UNMEASURED
        status = 500  # what the access line says if no answer started
        answered: int | None = None
        duration = 0.0  # until the last body message: what Litestar's middleware observed

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered, duration
            if message["type"] == "http.response.start":
                status = answered = message["status"]
                message["headers"] = [*(message.get("headers") or ()), id_header]
            elif message["type"] == "http.response.body":
                duration = time.perf_counter() - started
            await send(message)

        if measured:
            in_progress = _in_progress(method, route)
            in_progress.inc()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await app(scope, receive, send_with_id)
            finally:
                if measured:
                    in_progress.dec()
                    # Without an answer the metrics said 200 (Litestar's default), the log 500.
                    count, seconds, errors = _finished(method, route, answered or 200)
                    count.inc()
                    seconds.observe(duration)
                    if errors is not None:
                        errors.inc()
                log.info(
                    "http.request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )

    return middleware
