"""The batch jobs' ports on a test's engine, wired as the service wires them."""

from __future__ import annotations

from functools import partial

from piccolo.engine.postgres import PostgresEngine

from adapters.notifications import LogMemberNotifier, LogSmsSender
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.system import CryptoRandom, UuidGenerator
from app.batch_jobs import JobPorts
from app.settings import Settings
from app.wiring.composition import job_ports, outbox_secrets
from domain.ports import Clock


def job_ports_on(
    engine: PostgresEngine, clock: Clock, settings: Settings | None = None
) -> JobPorts:
    return job_ports(
        engine,
        uow=partial(PostgresUnitOfWork, engine),
        clock=clock,
        random=CryptoRandom(),
        ids=UuidGenerator(),
        sms=LogSmsSender(),
        member_notifier=LogMemberNotifier(),
        secrets=outbox_secrets(Settings()),
        # The tests' webhook receivers listen on 127.0.0.1.
        settings=settings or Settings(webhooks_allow_private_targets=True),
    )
