"""Building the Piccolo engine and binding the tables to it.

The pool resets a returned connection (advisory locks, cursors, LISTEN, settings: one round
trip, asyncpg's default) unless its user vouched that it left no session state behind: a
unit of work, whose transaction is over when it returns the connection and whose code only
ever takes transaction-scoped state (``pg_advisory_xact_lock``, ``SET LOCAL``, ``ON COMMIT
DROP``), does. Everyone else keeps the full reset (the jobs' session-level advisory locks
live on connections of their own, outside the pool: job_locks.py).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.config_cache import ConfigCache
from adapters.persistence.stored_times import install_codecs
from adapters.persistence.tables import ALL_TABLES


class LoyaltyEngine(PostgresEngine):
    """Piccolo's engine plus what belongs to one database per process: the configuration
    cache, and the connections whose next reset may be skipped."""

    __slots__ = ("_clean", "committed", "config_cache")

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config=config, extensions=())
        self.config_cache = ConfigCache()
        # Told after each unit of work's COMMIT (on its connection) which members it wrote:
        # the read router's record of positions a replica must reach (replica.py).
        self.committed: Callable[[Any, set[Any]], Awaitable[None]] | None = None
        self._clean: weakref.WeakSet[asyncpg.Connection] = weakref.WeakSet()

    async def start_connection_pool(self, **kwargs: Any) -> None:
        await super().start_connection_pool(reset=self._reset, init=self._init, **kwargs)

    async def release_clean(self, connection: Any) -> None:
        """Returns a pooled connection that holds no session state: no reset query is sent.

        An open transaction is still rolled back by asyncpg before the connection is reused.
        """
        assert self.pool is not None
        raw = getattr(connection, "_con", None)  # the pool hands out a proxy
        if raw is not None:
            # The reset hook takes the mark off. It is not taken off here after the release:
            # by then another task may have the connection, have marked it in turn and be
            # waiting for its own reset, which would then run in full (a quarter of all
            # releases did, under load). A release that skips the hook closes the connection.
            self._clean.add(raw)
        await self.pool.release(connection)

    async def _reset(self, connection: asyncpg.Connection) -> None:
        if connection in self._clean:
            self._clean.discard(connection)
            return
        query = connection.get_reset_query()
        if query:
            await connection.execute(query)

    async def _init(self, connection: asyncpg.Connection) -> None:
        # A new connection may be the first to a restarted or restored server, whose
        # configuration epoch can have gone back: start the cache afresh.
        self.config_cache.clear()
        await install_codecs(connection)

    async def get_new_connection(self) -> Any:
        """A connection outside the pool (jobs run without one): the same codecs."""
        connection = await super().get_new_connection()
        await install_codecs(connection)
        return connection


@asynccontextmanager
async def clean_connection(engine: PostgresEngine) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection for statements that leave no session state (plain autocommitted
    reads and writes); released without the reset round trip."""
    if engine.pool is None:
        raise RuntimeError("the engine's connection pool is not started")
    if not isinstance(engine, LoyaltyEngine):
        async with engine.pool.acquire() as connection:
            yield connection
        return
    connection = await engine.pool.acquire()
    try:
        yield connection
    finally:
        await engine.release_clean(connection)


def engine_config(database_url: str) -> dict[str, Any]:
    # asyncpg understands libpq URLs, including ?host=/socket/dir for Unix sockets.
    return {"dsn": database_url} if database_url else {}


async def start_engine(database_url: str, *, min_size: int, max_size: int) -> LoyaltyEngine:
    engine = LoyaltyEngine(config=engine_config(database_url))
    await engine.start_connection_pool(min_size=min_size, max_size=max_size)
    for table in ALL_TABLES:
        table._meta.db = engine
    return engine


async def stop_engine(engine: PostgresEngine) -> None:
    await engine.close_connection_pool()
