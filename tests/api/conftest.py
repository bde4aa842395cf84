"""API tests through Litestar's AsyncTestClient on PostgreSQL.

The client hands every request to the app's own thread and waits for the answer, so requests
gathered here run one after another: they pin the answers, not the races. The races run
over TCP against a served process in tests/e2e/test_races.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.settings import Settings
from app.wiring.asgi import create_app
from tests.api.client import Api


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(db_pool_min=2, db_pool_max=30)


@pytest.fixture(scope="session")
async def app(db_url: str, settings: Settings) -> Litestar:
    return create_app(settings, database_url=db_url)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
async def api(client: AsyncTestClient[Any], app: Litestar, clean_db: str) -> Api:
    return Api(client, app.state.container.tokens)
