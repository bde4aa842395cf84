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
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    from adapters.persistence import piccolo_conf

    # Piccolo finds its engine once and keeps it (in piccolo_conf and on its own Migration
    # table); point both at this database, which may not be the one of an earlier call.
    engine = PostgresEngine(config=engine_config(database_url), extensions=())
    piccolo_conf.DB = engine
    Migration._meta.db = engine
    lock = await asyncpg.connect(database_url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        result = await run_forwards(app_name="loyalty")
        if not result.success:
            raise MigrationFailed(result.message or "migration failed")
    finally:
        await lock.close()
