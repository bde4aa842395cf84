"""The composition root: builds engines, pools and adapters when the service starts."""

from __future__ import annotations

from functools import partial

from adapters.contacts import LibraryContactNormaliser
from adapters.http.tokens import TokenService
from adapters.persistence.engine import start_engine, stop_engine
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.system import CryptoRandom, SystemClock, UuidGenerator
from app.container import Container
from app.principal import Role
from app.settings import Settings
from domain.ports import Clock


def build_tokens(settings: Settings, clock: Clock) -> TokenService:
    return TokenService(
        secret=settings.jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        clock=clock,
        ttl_seconds={
            Role.ADMIN: settings.admin_token_ttl_seconds,
            Role.POS: settings.pos_token_ttl_seconds,
            Role.MEMBER: settings.member_token_ttl_seconds,
        },
    )


async def build_container(
    settings: Settings, database_url: str, *, clock: Clock | None = None
) -> Container:
    clock = clock or SystemClock()
    engine = await start_engine(
        database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    return Container(
        settings=settings,
        clock=clock,
        random=CryptoRandom(),
        ids=UuidGenerator(),
        contacts=LibraryContactNormaliser(settings.default_phone_region),
        uow=partial(PostgresUnitOfWork, engine),
        tokens=build_tokens(settings, clock),
        engine=engine,
    )


async def close_container(container: Container) -> None:
    if container.engine is not None:
        await stop_engine(container.engine)
