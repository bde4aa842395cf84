"""Fixtures shared by the database-backed layers (integration, api, e2e).

Unit and use-case tests need none of this: they run on fakes and never touch a database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.persistence.migrate import migrate
from tests.support.database import create_test_database, drop_test_database, reset


@pytest.fixture(scope="session")
async def db_url() -> AsyncIterator[str]:
    database = await create_test_database()
    try:
        await migrate(database.url)
        yield database.url
    finally:
        await drop_test_database(database)


@pytest.fixture
async def clean_db(db_url: str) -> str:
    await reset(db_url)
    return db_url
