"""Finding a PostgreSQL server for the tests and giving each run a fresh database.

Order: TEST_DATABASE_URL (used as is: it must be disposable), DATABASE_URL (its server gets a
fresh database next to yours, yours is never touched), a server answering on 127.0.0.1:5432,
and otherwise an embedded PostgreSQL under .data/test-pg.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from adapters.persistence.tables import ALL_TABLES, ProgramSettingsRow, TierPolicyRow, TierRow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

RESET_CONFIGURATION = """
DELETE FROM tiers WHERE code <> 'member';
INSERT INTO tiers (code, name, rank, threshold, earn_multiplier)
VALUES ('member', 'Member', 0, 0, 1)
ON CONFLICT (code) DO UPDATE SET name = 'Member', rank = 0, threshold = 0, earn_multiplier = 1;
ALTER TABLE tier_policies DISABLE TRIGGER tier_policies_append_only;
DELETE FROM tier_policies WHERE version > 1;
ALTER TABLE tier_policies ENABLE TRIGGER tier_policies_append_only;
UPDATE program_settings SET currency = 'CNY', time_zone = 'Asia/Shanghai', earn_rate = 1,
    point_value = 1, expiry_kind = 'never', expiry_count = NULL, pending_days = 14, version = 1
WHERE id = 1;
UPDATE program_settings SET crm_new_days = 30, crm_dormant_days = 90, crm_churned_days = 180,
    crm_follow_up_days = 7 WHERE id = 1;
UPDATE program_settings SET refunds_at_any_store = true WHERE id = 1;
UPDATE program_settings SET guest_claim_days = 30 WHERE id = 1;
"""


@dataclass(frozen=True)
class TestDatabase:
    url: str
    admin_url: str | None  # set when this run created the database and must drop it
    name: str


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def server_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if not os.environ.get("LOYALTY_TEST_EMBEDDED") and _port_open("127.0.0.1", 5432):
        return LOCAL_SERVER
    from adapters.database import embedded_database_url

    return embedded_database_url(PROJECT_ROOT / ".data" / "test")


async def create_test_database() -> TestDatabase:
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return TestDatabase(url=explicit, admin_url=None, name=urlsplit(explicit).path[1:])
    admin_url = server_url()
    name = f"loyalty_test_{os.getpid()}_{secrets.token_hex(3)}"
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return TestDatabase(url=_with_database(admin_url, name), admin_url=admin_url, name=name)


async def drop_test_database(database: TestDatabase) -> None:
    if database.admin_url is None:
        return
    connection = await asyncpg.connect(database.admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
    finally:
        await connection.close()


def _data_tables() -> list[str]:
    configuration = {
        ProgramSettingsRow._meta.tablename,
        TierRow._meta.tablename,
        TierPolicyRow._meta.tablename,
    }
    return [t._meta.tablename for t in ALL_TABLES if t._meta.tablename not in configuration]


async def reset(url: str) -> None:
    """Empties every table that holds data and restores the configuration defaults."""
    connection = await asyncpg.connect(url)
    try:
        tables = ", ".join(_data_tables())
        # A served process from an earlier test may still run its in-process jobs (the outbox
        # worker ticks every few seconds); TRUNCATE locks table after table and can deadlock
        # with such a job. PostgreSQL picks one side to fail: if it is us, try again.
        for attempt in range(5):
            try:
                await connection.execute(
                    f"TRUNCATE {tables} RESTART IDENTITY CASCADE;{RESET_CONFIGURATION}"
                )
                return
            except asyncpg.exceptions.DeadlockDetectedError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))
    finally:
        await connection.close()
