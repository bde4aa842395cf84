"""The Litestar application: routes, problem details, OpenAPI, and the container's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from adapters.http.api_docs import assets_router, render_plugins
from adapters.http.console import template_config
from adapters.http.idempotency import document_idempotent_operations
from adapters.http.observability import MetricsController, request_context_middleware
from adapters.http.problems import EXCEPTION_HANDLERS
from adapters.http.query_times import check_query_times
from adapters.http.routers import route_handlers
from adapters.http.strict_input import StrictRequest, document_json_bodies, refuse_unstorable_query
from app.container import Container

API_VERSION = "1.0.0"


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Loyalty API",
        version=API_VERSION,
        description=(
            "Loyalty and membership backend: POS terminals, the member app, web shop and "
            "payment webhooks, and programme administration. Errors are RFC 9457 problem "
            "details with a stable `code`."
        ),
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
        path="/schema",
        # Swagger UI from the package's own copy, not a CDN: the page works offline.
        render_plugins=render_plugins(),
        use_handler_docstrings=False,
    )


def _container(state: State) -> Container:
    container: Container = state.container
    return container


def build_http_app(
    start: Callable[[], Awaitable[Container]],
    stop: Callable[[Container], Awaitable[None]],
    *,
    max_body_bytes: int,
    debug: bool = False,
) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        container = await start()
        app.state.container = container
        try:
            yield
        finally:
            await stop(container)

    app = Litestar(
        route_handlers=[*route_handlers(), MetricsController, assets_router()],
        middleware=[request_context_middleware, refuse_unstorable_query],
        request_class=StrictRequest,
        dependencies={"container": Provide(_container, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=check_query_times,
        openapi_config=openapi_config(),
        template_config=template_config(),
        lifespan=[lifespan],
        request_max_body_size=max_body_bytes,
        debug=debug,
        # Logging is configured once, as JSON, by adapters/logging.py; Litestar's default
        # would add a plain-text handler to the root logger.
        logging_config=None,
    )
    document_json_bodies(app)
    document_idempotent_operations(app)
    return app


def openapi_document(app: Litestar) -> dict[str, Any]:
    return app.openapi_schema.to_schema()
