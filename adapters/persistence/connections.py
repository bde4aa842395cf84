"""Connections for the batch jobs' own SQL: given an engine, one of its pool; given a
connection (a test's, a script's), that one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

import asyncpg
from piccolo.engine.postgres import PostgresEngine

Database: TypeAlias = PostgresEngine | asyncpg.Connection


@asynccontextmanager
async def connection_for(database: Database) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(database, asyncpg.Connection):
        yield database
        return
    if database.pool is not None:
        async with database.pool.acquire() as connection:
            yield connection
        return
    connection = await database.get_new_connection()
    try:
        yield connection
    finally:
        await connection.close()
