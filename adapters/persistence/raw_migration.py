"""Piccolo migrations that run a block of SQL: the baseline that creates the whole schema, and
later migrations for constraints, triggers and functions that Piccolo's column API cannot
express."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.table import Table


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


class BaselineOverExistingTables(RuntimeError):
    pass


@dataclass
class SqlBaseline(MigrationManager):
    """The first migration: Piccolo records its tables, the database gets its SQL.

    `piccolo migrations new --auto` rebuilds the schema it diffs tables.py against from the
    operations the migrations' managers record (add_table, add_column, ...). This manager
    records one add_table and add_column per table and column of the baseline, so that an
    --auto after it starts from exactly the baseline's tables; but when run, it executes only
    the baseline's SQL, never the DDL Piccolo would derive from those operations.
    """

    sql: str = ""

    async def run(self, backwards: bool = False) -> None:
        if backwards:
            raise RuntimeError("the baseline cannot be reversed: drop the database instead")
        print(f"  - {self.migration_id} [forwards]... ", end="")
        if self.preview:
            print(self.sql)
            return
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("Piccolo found no engine (PICCOLO_CONF)")
        async with engine.transaction():
            transaction = engine.current_transaction.get()
            if transaction is None:
                raise RuntimeError("Piccolo's transaction did not start")
            connection = transaction.connection
            # Tables without the baseline recorded: a database migrated by the chain of
            # migrations the baseline replaced, but not to its end (that end is the baseline's
            # ID, so a database migrated to it is up to date and never gets here).
            if await connection.fetchval("SELECT to_regclass('public.members') IS NOT NULL"):
                raise BaselineOverExistingTables(
                    "this database holds loyalty tables but not the baseline migration "
                    f"{self.migration_id}: it was migrated by the pre-baseline chain and not to "
                    "its end. Nothing was deployed before the baseline: drop the database and "
                    "migrate again."
                )
            await connection.execute(self.sql)


def sql_baseline(
    migration_id: str, description: str, sql: str, tables: Iterable[type[Table]]
) -> MigrationManager:
    """The baseline migration: `sql` builds the schema that `tables` describe to Piccolo."""
    manager = SqlBaseline(
        migration_id=migration_id, app_name="loyalty", description=description, sql=sql
    )
    for table in tables:
        name, tablename = table.__name__, table._meta.tablename
        manager.add_table(class_name=name, tablename=tablename)
        for column in table._meta.non_default_columns:
            # New column objects, as an auto-generated migration makes them: the snapshot that
            # later migrations alter must not alter these classes.
            manager.add_column(
                table_class_name=name,
                tablename=tablename,
                column_name=column._meta.name,
                db_column_name=column._meta.db_column_name,
                column_class=type(column),
                params=dict(column._meta.params),
            )
    return manager
