"""The ASGI entry point: `uvicorn app.wiring.asgi:create_app --factory --no-proxy-headers`.

`loyalty serve` is the supported way to serve. Run by hand, uvicorn needs --no-proxy-headers
(any other ASGI server: its proxy-header handling off): the service works out the client's
address itself from LOYALTY_TRUSTED_PROXIES, and a server that rewrites the peer first lets
anyone on the host claim any address.
"""

from __future__ import annotations

import asyncio

from litestar import Litestar

from adapters.database import resolve_database_url
from adapters.http.application import build_http_app
from adapters.logging import configure_logging
from app.container import Container
from app.settings import Settings
from app.wiring.composition import Service, start_service, stop_service
from app.wiring.scheduler import start_jobs, stop_jobs
from domain.ports import Clock


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)

    jobs: list[asyncio.Task[None]] = []
    started: list[Service] = []

    async def start() -> Container:
        url = database_url or resolve_database_url(settings.database_url, settings.data_dir)
        service = await start_service(settings, url, clock=clock)
        started.append(service)
        if settings.jobs_in_process:
            jobs.extend(start_jobs(service.jobs, settings))
        return service.container

    async def stop(_: Container) -> None:
        try:
            await stop_jobs(jobs)
            jobs.clear()
        finally:
            while started:
                await stop_service(started.pop())

    return build_http_app(start, stop, max_body_bytes=settings.max_request_body_bytes)
