"""The migration that stops keeping terminal secrets in stored idempotent answers also scrubs
the answers stored before it: a retry within the keys' 48 hours no longer shows the secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import pytest

from migrations.loyalty_2026_12_07t20_47_20_000000_admin_control_sql import SQL

pytestmark = pytest.mark.db

SCRUB = SQL[SQL.index("UPDATE idempotency_keys") :]


async def test_stored_answers_that_showed_a_terminal_secret_lose_it_and_nothing_else(
    clean_db: str,
) -> None:
    terminal = {
        "terminal_id": "0b5e3d1e-4f0a-4c55-9a64-5d1f3c2b1a00",
        "store_id": "1c5e3d1e-4f0a-4c55-9a64-5d1f3c2b1a00",
        "code": "till-1",
        "created_at": "2026-12-07T10:00:00Z",
        "secret": "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-xx",
    }
    other = {"sale_id": "2c5e3d1e-4f0a-4c55-9a64-5d1f3c2b1a00", "secret": "not a terminal's"}
    rows = [
        ("admin:a", "k1", json.dumps(terminal), "application/json"),
        ("pos:t", "k2", json.dumps(other), "application/json"),
        ("admin:a", "k3", json.dumps([1, 2]), "application/json"),
        ("admin:a", "k4", json.dumps({"code": "terminal_exists"}), "application/problem+json"),
    ]
    connection = await asyncpg.connect(clean_db)
    try:
        for caller, key, body, media_type in rows:
            await connection.execute(
                "INSERT INTO idempotency_keys (caller, key, request_hash, status_code, "
                "media_type, response_body, created_at) VALUES ($1, $2, 'h', 201, $3, $4, $5)",
                caller,
                key,
                media_type,
                body.encode(),
                datetime.now(UTC),
            )
        await connection.execute(SCRUB)
        stored = {
            row["key"]: json.loads(bytes(row["response_body"]))
            for row in await connection.fetch("SELECT key, response_body FROM idempotency_keys")
        }
    finally:
        await connection.close()

    assert stored["k1"] == {**terminal, "secret": None, "secret_withheld": True}
    assert stored["k2"] == other
    assert stored["k3"] == [1, 2]
    assert stored["k4"] == {"code": "terminal_exists"}
