"""adapters.persistence.migrate: builds the schema on an empty database and is idempotent."""

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

from adapters.persistence.migrate import migrate
from adapters.persistence.tables import ALL_TABLES

pytestmark = pytest.mark.db

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# config_epoch is raw SQL: no Piccolo table, so the tests' reset never empties it.
EXPECTED_TABLES = {t._meta.tablename for t in ALL_TABLES} | {"migration", "config_epoch"}
MIGRATIONS = [
    "2026-11-23T13:24:01:068368",
    "2026-11-23T13:24:04:388667",
    "2026-11-23T13:52:12:026108",
    "2026-11-23T13:52:13:977185",
    "2026-11-23T14:32:28:187116",
    "2026-11-23T14:35:49:136543",
    "2026-11-23T14:40:30:438402",
    "2026-11-23T14:40:32:621782",
    "2026-11-23T15:23:04:713007",
    "2026-11-23T15:48:10:568463",
    "2026-11-23T15:48:16:605244",
    "2026-11-23T15:48:50:557242",
    "2026-11-23T15:58:27:159438",
    "2026-11-23T15:58:28:000001",
    "2026-11-23T16:10:00:000001",
    "2026-11-23T16:10:00:000002",
    "2026-11-23T16:50:15:637886",
    "2026-11-23T16:50:17:000000",
    "2026-11-23T16:50:27:260769",
    "2026-11-23T16:50:29:000000",
    "2026-11-23T17:30:00:000001",
    "2026-11-24T10:00:00:000001",
    "2026-11-24T10:10:00:000001",
    "2026-11-24T10:20:00:000001",
]


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
