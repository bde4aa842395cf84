"""Fixtures for the adapter tests: one Piccolo engine on the session's test database.

`db_url` (session) and `clean_db` (per test) come from tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.engine import start_engine, stop_engine
from adapters.persistence.tables import ALL_TABLES
from adapters.persistence.unit_of_work import PostgresUnitOfWork


@pytest.fixture(scope="session")
async def session_engine(db_url: str) -> AsyncIterator[PostgresEngine]:
    engine = await start_engine(db_url, min_size=1, max_size=10)
    try:
        yield engine
    finally:
        await stop_engine(engine)


@pytest.fixture
async def engine(session_engine: PostgresEngine, clean_db: str) -> AsyncIterator[PostgresEngine]:
    # Other layers' fixtures (the API app) may have bound the tables to their own engine, and
    # a unit of work only sees queries made through the engine it opened its transaction on:
    # bind the tables to ours for the test, then give the previous binding back.
    previous = {table: table._meta._db for table in ALL_TABLES}
    for table in ALL_TABLES:
        table._meta.db = session_engine
    try:
        yield session_engine
    finally:
        for table, db in previous.items():
            table._meta._db = db


@pytest.fixture
def uow_factory(engine: PostgresEngine) -> Callable[[], PostgresUnitOfWork]:
    return lambda: PostgresUnitOfWork(engine)
