"""The ASGI entry point: `uvicorn app.wiring.asgi:create_app --factory`."""

from __future__ import annotations

import asyncio

from litestar import Litestar

from adapters.database import resolve_database_url
from adapters.http.application import build_http_app
from adapters.logging import configure_logging
from adapters.persistence.coupon_expiry import start_coupon_scheduler
from adapters.persistence.crm_jobs import CRM_INTERVAL_SECONDS, start_crm_scheduler
from adapters.persistence.outbox import start_outbox_worker
from adapters.persistence.points_expiry import start_job_scheduler, stop_job_scheduler
from adapters.persistence.tier_review import REVIEW_INTERVAL_SECONDS, start_review_scheduler
from app.container import Container
from app.settings import Settings
from app.wiring.composition import Service, start_service, stop_service
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
        container = service.container
        if settings.jobs_in_process:
            jobs.append(
                start_job_scheduler(
                    service.engine,
                    container.uow,
                    container.clock,
                    interval=settings.jobs_interval_seconds,
                )
            )
            jobs.append(
                start_coupon_scheduler(
                    service.engine,
                    container.uow,
                    clock=container.clock,
                    random=container.random,
                    ids=container.ids,
                    interval=settings.jobs_interval_seconds,
                )
            )
            jobs.append(
                start_crm_scheduler(
                    service.engine,
                    container.clock,
                    interval=max(settings.jobs_interval_seconds, CRM_INTERVAL_SECONDS),
                )
            )
            # Reviews are daily at most: a million members is tens of seconds of work.
            jobs.append(
                start_review_scheduler(
                    service.engine,
                    container.clock,
                    interval=max(settings.jobs_interval_seconds, REVIEW_INTERVAL_SECONDS),
                )
            )
            # Login codes must go out within seconds; reminders and purges are hourly work.
            jobs.append(
                start_outbox_worker(
                    service.engine,
                    container.clock,
                    container.sms,
                    container.member_notifier,
                    container.login.secrets,
                    interval=settings.outbox_interval_seconds,
                    housekeeping_interval=settings.jobs_interval_seconds,
                )
            )
        return container

    async def stop(_: Container) -> None:
        try:
            while jobs:
                await stop_job_scheduler(jobs.pop())
        finally:
            while started:
                await stop_service(started.pop())

    return build_http_app(start, stop, max_body_bytes=settings.max_request_body_bytes)
