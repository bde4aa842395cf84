"""Piccolo migrations that run a block of SQL: constraints, triggers and functions that
Piccolo's column API cannot express."""

from __future__ import annotations

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder


def sql_migration(migration_id: str, description: str, sql: str) -> MigrationManager:
    manager = MigrationManager(
        migration_id=migration_id, app_name="loyalty", description=description
    )

    async def run() -> None:
        # The manager wraps each migration in a transaction; execute() without arguments
        # uses the simple query protocol, which accepts many statements at once.
        engine = engine_finder()
        transaction = engine.current_transaction.get() if engine else None
        if transaction is None:
            raise RuntimeError("SQL migrations run inside Piccolo's migration transaction")
        await transaction.connection.execute(sql)

    manager.add_raw(run)
    return manager
