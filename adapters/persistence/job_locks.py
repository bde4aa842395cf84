"""The jobs' locks (app.batch_jobs.JobLocks): PostgreSQL session-level advisory locks.

pg_try_advisory_lock(ADVISORY_LOCK_CLASS, key), one key per row of app.scheduling.JOBS, so
that one process at a time runs each job, whichever started it (a worker, the CLI). The lock
lives on a connection of its own, outside the pool the tills share, for as long as the job
runs; closing it lets go of the lock, and so does PostgreSQL when the holder dies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from piccolo.engine.postgres import PostgresEngine

ADVISORY_LOCK_CLASS = 0x4C594C54  # "LYLT"


class PostgresJobLocks:
    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[bool]:
        connection = await self._engine.get_new_connection()
        try:
            held = await connection.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", ADVISORY_LOCK_CLASS, key
            )
            yield bool(held)
        finally:
            await connection.close()
