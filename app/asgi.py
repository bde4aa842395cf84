"""The ASGI entry point: `uvicorn app.asgi:create_app --factory --no-proxy-headers`.

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
from adapters.persistence.coupon_jobs import start_coupon_scheduler
from adapters.persistence.crm_jobs import CRM_INTERVAL_SECONDS, start_crm_scheduler
from adapters.persistence.jobs import start_job_scheduler, stop_job_scheduler
from adapters.persistence.outbox_jobs import start_outbox_worker
from adapters.persistence.tier_jobs import REVIEW_INTERVAL_SECONDS, start_review_scheduler
from app.composition import build_container, close_container
from app.container import Container
from app.settings import Settings
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

    async def start() -> Container:
        url = database_url or resolve_database_url(settings.database_url, settings.data_dir)
        container = await build_container(settings, url, clock=clock)
        if settings.jobs_in_process:
            jobs.append(
                start_job_scheduler(
                    container.engine,
                    container.uow,
                    container.clock,
                    interval=settings.jobs_interval_seconds,
                )
            )
            jobs.append(
                start_coupon_scheduler(
                    container.engine,
                    container.uow,
                    clock=container.clock,
                    random=container.random,
                    ids=container.ids,
                    interval=settings.jobs_interval_seconds,
                )
            )
            jobs.append(
                start_crm_scheduler(
                    container.engine,
                    container.clock,
                    interval=max(settings.jobs_interval_seconds, CRM_INTERVAL_SECONDS),
                )
            )
            # Reviews are daily at most: a million members is tens of seconds of work.
            jobs.append(
                start_review_scheduler(
                    container.engine,
                    container.clock,
                    interval=max(settings.jobs_interval_seconds, REVIEW_INTERVAL_SECONDS),
                )
            )
            assert container.sms is not None
            assert container.member_notifier is not None
            assert container.login is not None
            # Login codes must go out within seconds; reminders and purges are hourly work.
            jobs.append(
                start_outbox_worker(
                    container.engine,
                    container.clock,
                    container.sms,
                    container.member_notifier,
                    container.login.secrets,
                    interval=settings.outbox_interval_seconds,
                    housekeeping_interval=settings.jobs_interval_seconds,
                )
            )
        return container

    async def stop(container: Container) -> None:
        try:
            while jobs:
                await stop_job_scheduler(jobs.pop())
        finally:
            await close_container(container)

    return build_http_app(start, stop, max_body_bytes=settings.max_request_body_bytes)
