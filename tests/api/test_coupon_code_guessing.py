"""A till presenting coupon codes by the hundred is refused with 429 and Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.persistence.tables import ALL_TABLES
from app.settings import Settings
from app.wiring.asgi import create_app
from domain.coupon_codes import check_symbol
from tests.api.client import Api

LINES = [{"sku": "MUG", "quantity": 1, "unit_price": 3_000}]


def guess(n: int) -> str:
    payload = f"{n:014d}"
    return payload + check_symbol(payload)


@pytest.fixture
async def strict_api(db_url: str, clean_db: str) -> AsyncIterator[Api]:
    """An app of its own with a low limit. Starting it binds the tables to its engine, which
    it stops on the way out: the session app's binding is given back afterwards."""
    previous = {table: table._meta._db for table in ALL_TABLES}
    settings = Settings(db_pool_min=1, db_pool_max=5, coupon_codes_per_terminal=(10, 3600))
    app: Litestar = create_app(settings, database_url=db_url)
    try:
        async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
            yield Api(client, app.state.container.tokens)
    finally:
        for table, db in previous.items():
            table._meta._db = db


async def test_a_till_guessing_coupon_codes_is_stopped_with_429(strict_api: Api) -> None:
    till = await strict_api.open_till()
    member = await till.enrol("+8613800138000")
    answers: list[Any] = []
    for n in range(3):  # 4 codes a quote: 12 > 10
        body = {"member_id": member["member_id"], "lines": LINES}
        body["coupon_codes"] = [guess(4 * n + i) for i in range(4)]
        answers.append(await till.post("/v1/pos/quote", body))
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "rate_limited"
    assert int(answers[2].headers["Retry-After"]) >= 1
    plain = await till.post("/v1/pos/quote", {"member_id": member["member_id"], "lines": LINES})
    assert plain.status_code == 200  # a sale without coupons is never held up
