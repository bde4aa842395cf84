"""What operators see of each request: a request id in every log line and in the answer, one
access log line, and Prometheus metrics per route at /metrics.

Access lines name the route template, never the concrete path or the query string: a lookup's
query holds a phone number, and paths hold member ids.
"""

from __future__ import annotations

import re
import time
from typing import Any
from uuid import uuid4

import structlog
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# A caller's own id is kept (it ties their logs to ours) only if it cannot inject anything.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
log = structlog.get_logger("loyalty.http")

PROMETHEUS = PrometheusConfig(
    app_name="loyalty",
    prefix="loyalty",
    group_path=True,
    exclude_unhandled_paths=True,
    exclude=["/metrics"],
)


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            return text if _SAFE_REQUEST_ID.match(text) else None
    return None


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid4().hex
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers") or [])
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await app(scope, receive, send_with_id)
            finally:
                log.info(
                    "http.request",
                    method=scope.get("method"),
                    route=scope.get("path_template", "unmatched"),
                    status=status["code"],
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )

    return middleware
