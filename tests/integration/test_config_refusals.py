"""The configuration cache refuses bad stored rows one by one instead of failing whole.

A fresh ConfigCache stands for a process that has never read a good configuration; the rows
are written by raw SQL, as a bad old version or a hand edit would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from adapters.persistence import config_cache
from adapters.persistence.config_cache import ConfigCache, ConfigSnapshot
from adapters.persistence.engine import LoyaltyEngine
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.health import ConfigurationUnavailable, RefusedRow
from tests.integration.test_config_cache import a_campaign
from tests.support.logs import Recorder

pytestmark = pytest.mark.db


@pytest.fixture
async def connection(clean_db: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    connection = await asyncpg.connect(clean_db)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(config_cache, "log", recorder)
    return recorder


async def load(cache: ConfigCache, connection: asyncpg.Connection[Any]) -> ConfigSnapshot:
    async with connection.transaction():
        return await cache.current(connection)


async def test_a_campaign_from_minus_infinity_is_refused_logged_and_the_rest_is_served(
    engine: LoyaltyEngine, connection: asyncpg.Connection[Any], logs: Recorder
) -> None:
    good, bad_id = a_campaign(), uuid4()
    async with PostgresUnitOfWork(engine) as uow:
        await uow.draws.add_campaign(good)
        await uow.commit()
    await connection.execute(
        "INSERT INTO draw_campaigns (id, name, threshold, chances, chance_valid_days, "
        "starts_at, ends_at, created_at) SELECT $1, name, threshold, chances, "
        "chance_valid_days, '-infinity', ends_at, created_at FROM draw_campaigns WHERE id = $2",
        bad_id,
        good.id,
    )
    await connection.execute(
        "INSERT INTO draw_prizes (campaign_id, position, code, name, weight, template_id, stock) "
        "SELECT $1, position, code, name, weight, template_id, stock FROM draw_prizes "
        "WHERE campaign_id = $2",
        bad_id,
        good.id,
    )

    snapshot = await load(ConfigCache(), connection)

    assert [c.id for c in snapshot.campaigns] == [good.id]
    assert snapshot.refused == (
        RefusedRow(
            "draw_campaigns", str(bad_id), "starts_at -infinity is not a time the service accepts"
        ),
    )
    assert [(e["event"], e["level"], e["table"], e["row"]) for e in logs.lines] == [
        ("config.row_refused", "error", "draw_campaigns", str(bad_id))
    ]


async def test_without_a_good_programme_ever_read_the_configuration_is_unavailable_once(
    connection: asyncpg.Connection[Any], logs: Recorder
) -> None:
    await connection.execute("UPDATE program_settings SET time_zone = 'Nowhere/Land'")
    cache = ConfigCache()

    with pytest.raises(ConfigurationUnavailable) as first:
        await load(cache, connection)
    first_lines = list(logs.lines)
    with pytest.raises(ConfigurationUnavailable):
        await load(cache, connection)

    assert first.value.refused[0].table == "program_settings"
    assert "Nowhere/Land" in first.value.refused[0].reason
    assert [(e["event"], e["served"]) for e in first_lines] == [("config.row_refused", False)]
    # The same epoch answers from memory: no reload, no second log line per request.
    assert cache.loads == 1
    assert logs.lines == first_lines


async def test_a_refused_programme_or_ladder_falls_back_to_the_last_good_one(
    connection: asyncpg.Connection[Any],
) -> None:
    cache = ConfigCache()
    good = await load(cache, connection)
    await connection.execute("UPDATE program_settings SET earn_rate = 5000")
    await connection.execute("UPDATE tiers SET name = '', rank = 5000")

    snapshot = await load(cache, connection)

    assert snapshot.epoch > good.epoch
    assert snapshot.program == good.program
    assert snapshot.policy.ladder == good.policy.ladder
    assert {(r.table, r.row) for r in snapshot.refused} == {
        ("program_settings", "1"),
        ("tiers", "member"),
    }

    await connection.execute("UPDATE program_settings SET earn_rate = 2")
    await connection.execute("UPDATE tiers SET name = 'Member', rank = 0")
    repaired = await load(cache, connection)
    assert repaired.refused == ()
    assert str(repaired.program.earn_rate) == "2.0000"


async def test_a_ladder_that_breaks_as_a_whole_is_refused_as_a_whole(
    connection: asyncpg.Connection[Any],
) -> None:
    cache = ConfigCache()
    good = await load(cache, connection)
    # Each tier is fine alone; without a tier at threshold 0 the ladder is not.
    await connection.execute("UPDATE tiers SET threshold = 100")

    snapshot = await load(cache, connection)

    assert snapshot.policy.ladder == good.policy.ladder
    assert [(r.table, r.row) for r in snapshot.refused] == [("tiers", "*")]
