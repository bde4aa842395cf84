"""Building the Piccolo engine and binding the tables to it."""

from __future__ import annotations

from typing import Any

from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.tables import ALL_TABLES


def engine_config(database_url: str) -> dict[str, Any]:
    # asyncpg understands libpq URLs, including ?host=/socket/dir for Unix sockets.
    return {"dsn": database_url} if database_url else {}


async def start_engine(database_url: str, *, min_size: int, max_size: int) -> PostgresEngine:
    engine = PostgresEngine(config=engine_config(database_url), extensions=())
    await engine.start_connection_pool(min_size=min_size, max_size=max_size)
    for table in ALL_TABLES:
        table._meta.db = engine
    return engine


async def stop_engine(engine: PostgresEngine) -> None:
    await engine.close_connection_pool()
