"""Applying Piccolo migrations forwards, one migrator at a time."""

from __future__ import annotations

import os

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.engine import engine_config

PICCOLO_CONF = "adapters.persistence.piccolo_conf"
# Any constant will do; it only has to be the same for every process migrating this database.
MIGRATION_LOCK = 7_300_000_001


class MigrationFailed(RuntimeError):
    pass


async def migrate(database_url: str) -> None:
    os.environ["PICCOLO_CONF"] = PICCOLO_CONF
    os.environ["DATABASE_URL"] = database_url
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from adapters.persistence import piccolo_conf

    # The module may have been imported earlier with another URL; point it at this one.
    piccolo_conf.DB = PostgresEngine(config=engine_config(database_url), extensions=())
    lock = await asyncpg.connect(database_url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        result = await run_forwards(app_name="loyalty")
        if not result.success:
            raise MigrationFailed(result.message or "migration failed")
    finally:
        await lock.close()
