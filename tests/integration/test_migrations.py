"""adapters.persistence.migrate: builds the schema on an empty database and is idempotent; the
baseline migration agrees with tables.py, for the database and for Piccolo's --auto."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.columns import Varchar
from piccolo.conf.apps import AppConfig
from piccolo.table import Table, create_table_class, sort_table_classes

from adapters.persistence.migrate import migrate
from adapters.persistence.piccolo_app import APP_CONFIG
from adapters.persistence.raw_migration import BaselineOverExistingTables
from adapters.persistence.tables import ALL_TABLES, MemberRow
from tests.support.schema_facts import schema_facts

pytestmark = pytest.mark.db

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# config_epoch is raw SQL: no Piccolo table, so the tests' reset never empties it.
EXPECTED_TABLES = {t._meta.tablename for t in ALL_TABLES} | {"migration", "config_epoch"}
# The baseline (migrations/baseline.sql); migrations added later go after it.
MIGRATIONS = [
    "2026-12-07T21:39:11:000000",
]
# Where the database deliberately differs from what Piccolo would create from tables.py, and
# why; everything else (types, nullability, defaults, keys) must be the same.
NOT_AS_PICCOLO_DECLARES = {
    # (table, column): (what differs, as Piccolo would create it, as the database has it)
    # No default where Piccolo would write DEFAULT NULL (the migrations before the baseline
    # dropped Piccolo's DEFAULT '' when they made the column nullable). Both mean NULL.
    ("members", "phone"): ("default", "NULL::character varying", None),
    # The chain trigger numbers and hashes every entry (baseline.sql, points ledger) and the
    # database requires the result; tables.py lets the ORM's inserts leave them out.
    ("points_entries", "seq"): ("default", "0", None),
    ("points_entries", "prev_hash"): ("not null", False, True),
    ("points_entries", "entry_hash"): ("not null", False, True),
}


async def snapshot(url: str) -> dict[str, Any]:
    """Everything a migration could touch: tables, columns, constraints, triggers, seed rows."""
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )
        columns = await connection.fetch(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
        )
        constraints = await connection.fetch(
            "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
        )
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        )
        triggers = await connection.fetch(
            "SELECT tgrelid::regclass::text AS tbl, tgname FROM pg_trigger "
            "WHERE NOT tgisinternal ORDER BY 1, 2"
        )
        migrations = await connection.fetch("SELECT name, app_name FROM migration ORDER BY id")
        program = await connection.fetch(
            "SELECT id, currency, time_zone, earn_rate, point_value, expiry_kind, expiry_count, "
            "pending_days, version FROM program_settings ORDER BY id"
        )
        tiers = await connection.fetch(
            "SELECT code, name, rank, threshold, earn_multiplier FROM tiers ORDER BY rank"
        )
    finally:
        await connection.close()
    return {
        name: [tuple(r) for r in rows]
        for name, rows in {
            "tables": tables,
            "columns": columns,
            "constraints": constraints,
            "indexes": indexes,
            "triggers": triggers,
            "migrations": migrations,
            "program": program,
            "tiers": tiers,
        }.items()
    }


@pytest.fixture
async def empty_database(db_url: str) -> AsyncIterator[str]:
    name = f"loyalty_migrate_{secrets.token_hex(4)}"
    # The server the tests run on, whichever it is (local, embedded, DATABASE_URL's).
    server = urlunsplit(urlsplit(db_url)._replace(path="/postgres"))
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.InsufficientPrivilegeError:
        pytest.skip("the test database's role may not create databases")
    finally:
        await admin.close()
    try:
        yield urlunsplit(urlsplit(db_url)._replace(path="/" + name))
    finally:
        # migrate() points Piccolo (and DATABASE_URL) at the last URL it was given: restore it.
        await migrate(db_url)
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def migrate_in_a_new_process(url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import asyncio, sys\n"
        "from adapters.persistence.migrate import migrate\n"
        "asyncio.run(migrate(sys.argv[1]))\n",
        url,
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output.decode()


def assert_fully_migrated(state: dict[str, Any]) -> None:
    assert {t for (t,) in state["tables"]} == EXPECTED_TABLES
    assert state["migrations"] == [(m, "loyalty") for m in MIGRATIONS]
    assert state["program"] == [
        (1, "CNY", "Asia/Shanghai", Decimal("1.0000"), Decimal("1.0000"), "never", None, 14, 1)
    ]
    assert state["tiers"] == [("member", "Member", 0, 0, Decimal("1.000"))]
    assert state["triggers"] == [
        ("audit_log", "audit_log_append_only"),
        ("draw_campaigns", "draw_campaigns_config_epoch"),
        ("draw_prizes", "draw_prizes_config_epoch"),
        ("draw_prizes", "draw_prizes_config_epoch_update"),
        ("earning_rule_versions", "earning_rule_versions_append_only"),
        ("earning_rules", "earning_rules_config_epoch"),
        ("points_entries", "points_entries_append_only"),
        ("points_entries", "points_entries_chain"),
        ("points_entries", "points_entries_chain_check"),
        ("points_lot_movements", "points_lot_movements_append_only"),
        ("program_settings", "program_settings_config_epoch"),
        ("tier_changes", "tier_changes_append_only"),
        ("tier_policies", "tier_policies_append_only"),
        ("tier_policies", "tier_policies_config_epoch"),
        ("tiers", "tiers_config_epoch"),
    ]
    constraint_names = {name for _, name, _ in state["constraints"]}
    assert {
        "program_settings_singleton",
        "points_accounts_debt_or_available",
        "points_entries_posting_key",
        "sales_payable",
        "sales_store_receipt",
        "members_phone_e164",
    } <= constraint_names
    assert "member_cards_one_active" in {name for name, _ in state["indexes"]}


async def test_the_session_database_is_fully_migrated(clean_db: str) -> None:
    assert_fully_migrated(await snapshot(clean_db))


async def test_migrating_an_already_migrated_database_again_changes_nothing(
    clean_db: str,
) -> None:
    connection = await asyncpg.connect(clean_db)
    try:
        # A changed setting shows that the seed rows are not inserted or reset a second time.
        await connection.execute("UPDATE program_settings SET earn_rate = 2.5, version = 2")
    finally:
        await connection.close()
    before = await snapshot(clean_db)

    await migrate(clean_db)
    await migrate(clean_db)

    after = await snapshot(clean_db)
    assert after == before
    assert after["program"][0][3] == Decimal("2.5000")
    assert len(after["migrations"]) == len(MIGRATIONS)


async def test_migrate_builds_the_whole_schema_on_an_empty_database(
    empty_database: str,
) -> None:
    # A fresh process, as `loyalty migrate` runs it.
    await migrate_in_a_new_process(empty_database)

    assert_fully_migrated(await snapshot(empty_database))


async def test_migrate_builds_the_schema_on_an_empty_database_after_migrating_another(
    db_url: str, empty_database: str
) -> None:
    # db_url was migrated by this same process (tests/conftest.py).
    await migrate(empty_database)

    assert_fully_migrated(await snapshot(empty_database))


async def test_migrate_refuses_a_database_the_replaced_migrations_left_half_way(
    empty_database: str,
) -> None:
    # What a database migrated by the pre-baseline chain, but not to its end, looks like.
    connection = await asyncpg.connect(empty_database)
    try:
        await connection.execute("CREATE TABLE members (id uuid PRIMARY KEY)")
    finally:
        await connection.close()

    with pytest.raises(BaselineOverExistingTables, match="drop the database"):
        await migrate(empty_database)


async def _alter_statements(app_config: AppConfig) -> list[str]:
    statements = await AutoMigrationManager().get_alter_statements(app_config=app_config)
    return [statement for group in statements for statement in group.statements]


def _app_config(table_classes: list[type[Table]]) -> AppConfig:
    return AppConfig(
        app_name=APP_CONFIG.app_name,
        migrations_folder_path=APP_CONFIG.migrations_folder_path,
        table_classes=table_classes,
    )


async def test_piccolo_auto_finds_tables_py_and_the_migrations_in_agreement() -> None:
    # What `piccolo migrations new loyalty --auto` would write: nothing.
    assert await _alter_statements(APP_CONFIG) == []


async def test_piccolo_auto_after_the_baseline_writes_only_the_change_to_tables_py() -> None:
    with_nickname = create_table_class(
        "MemberRow",
        bases=(MemberRow,),
        class_kwargs={"tablename": "members"},
        class_members={"nickname": Varchar(length=40, null=True, default=None)},
    )
    tables = [with_nickname if table is MemberRow else table for table in ALL_TABLES]

    statements = await _alter_statements(_app_config(tables))

    assert len(statements) == 1
    assert statements[0].startswith("manager.add_column(table_class_name='MemberRow'")
    assert "column_name='nickname'" in statements[0]


def _by_column(columns: list[tuple[Any, ...]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (table, column): {"type": type_, "not null": not_null, "default": default}
        for table, column, _, type_, not_null, default in columns
    }


async def test_the_migrated_schema_is_what_piccolo_creates_from_tables_py(
    clean_db: str, empty_database: str
) -> None:
    connection = await asyncpg.connect(empty_database)
    try:
        for table in sort_table_classes(list(ALL_TABLES)):
            for statement in table.create_table().ddl:
                await connection.execute(statement)
    finally:
        await connection.close()
    declared = await schema_facts(empty_database, seed_rows=False)
    migrated = await schema_facts(clean_db, seed_rows=False)
    tablenames = {table._meta.tablename for table in ALL_TABLES}

    declared_columns = _by_column(declared["columns"])
    migrated_columns = _by_column([row for row in migrated["columns"] if row[0] in tablenames])
    assert declared_columns.keys() == migrated_columns.keys()
    different = {
        key: (what, declared_columns[key][what], migrated_columns[key][what])
        for key in declared_columns
        for what in ("type", "not null", "default")
        if declared_columns[key][what] != migrated_columns[key][what]
    }
    assert different == NOT_AS_PICCOLO_DECLARES
    # Primary keys, UNIQUE columns, foreign keys (with their RESTRICT) and indexes declared in
    # tables.py exist, with the same names and definitions; the migrations add more.
    assert set(declared["constraints"]) <= set(migrated["constraints"])
    assert set(declared["indexes"]) <= set(migrated["indexes"])
