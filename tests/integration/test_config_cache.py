"""The per-process configuration cache: one epoch read per transaction, never a stale answer.

Two engines stand for two processes (each has its own pool and cache), as the served
processes of tests/e2e/test_config_cache.py do over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import asyncpg
import pytest

from adapters.persistence.engine import LoyaltyEngine, start_engine, stop_engine
from adapters.persistence.tables import ALL_TABLES
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from domain.draws import ChanceRule, DrawCampaign, Prize
from domain.tier_policy import TierPolicy
from domain.tiers import Tier, TierLadder
from tests.integration.factories import T0
from tests.support.fakes import SequentialIds

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]


@pytest.fixture
async def other_engine(engine: LoyaltyEngine, db_url: str) -> AsyncIterator[LoyaltyEngine]:
    # start_engine binds the tables to the engine it starts: give them back to the test's.
    tables = {table: table._meta._db for table in ALL_TABLES}
    other = await start_engine(db_url, min_size=1, max_size=2)
    for table, db in tables.items():
        table._meta._db = db
    try:
        yield other
    finally:
        await stop_engine(other)


async def epoch(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        value: int = await connection.fetchval("SELECT epoch FROM config_epoch")
        return value
    finally:
        await connection.close()


async def execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def earn_rate(uow_factory: UowFactory) -> Decimal:
    async with uow_factory() as uow:
        return (await uow.program.get()).earn_rate


async def set_earn_rate(uow_factory: UowFactory, rate: str) -> None:
    async with uow_factory() as uow:
        current = await uow.program.get_for_update()
        await uow.program.save(replace(current, earn_rate=Decimal(rate), version=2))
        await uow.commit()


async def test_every_configuration_table_moves_the_epoch_and_a_prize_s_stock_does_not(
    engine: LoyaltyEngine, db_url: str
) -> None:
    start = await epoch(db_url)
    for sql in (
        "UPDATE program_settings SET pending_days = 10",
        "UPDATE tiers SET name = 'Base'",
        "UPDATE tier_policies SET grace_days = grace_days WHERE false",  # no row: still moves
        "DELETE FROM draw_campaigns",
        "TRUNCATE draw_prizes CASCADE",
    ):
        before = await epoch(db_url)
        await execute(db_url, sql)
        assert await epoch(db_url) > before, sql
    assert await epoch(db_url) > start

    campaign = a_campaign()
    async with PostgresUnitOfWork(engine) as uow:
        await uow.draws.add_campaign(campaign)
        await uow.commit()
    before = await epoch(db_url)
    async with PostgresUnitOfWork(engine) as uow:
        assert await uow.draws.take_stock(campaign.id, "mug")
        await uow.commit()
    assert await epoch(db_url) == before


async def test_a_transaction_reads_the_epoch_once_and_the_configuration_only_when_it_moved(
    engine: LoyaltyEngine, uow_factory: UowFactory, db_url: str
) -> None:
    await earn_rate(uow_factory)
    loads = engine.config_cache.loads

    async with uow_factory() as uow:
        await uow.program.get()
        await uow.tiers.policy()
        await uow.draws.running_at(T0)
    assert engine.config_cache.loads == loads

    await execute(db_url, "UPDATE program_settings SET earn_rate = 3")
    assert await earn_rate(uow_factory) == Decimal("3.0000")
    assert engine.config_cache.loads == loads + 1


async def test_a_change_committed_by_another_process_is_seen_by_the_next_transaction(
    uow_factory: UowFactory, other_engine: LoyaltyEngine
) -> None:
    assert await earn_rate(uow_factory) == Decimal("1.0000")  # cached here now

    await set_earn_rate(lambda: PostgresUnitOfWork(other_engine), "2.5")

    assert await earn_rate(uow_factory) == Decimal("2.5000")


async def test_a_transaction_sees_its_own_configuration_change(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        assert (await uow.program.get()).earn_rate == Decimal("1.0000")
        current = await uow.program.get_for_update()
        await uow.program.save(replace(current, earn_rate=Decimal("4"), version=2))
        assert (await uow.program.get()).earn_rate == Decimal("4.0000")
        ladder = TierLadder.of([Tier("member", "Member", 0, 0, Decimal(1))])
        policy = TierPolicy(30, 0, ladder, version=2)
        await uow.tiers.save_policy(policy, "admin:t", T0)
        assert (await uow.tiers.policy()).version == 2
        await uow.draws.add_campaign(a_campaign())
        assert len(await uow.draws.running_at(T0)) == 1
    # Rolled back: nobody, this process included, sees any of it.
    assert await earn_rate(uow_factory) == Decimal("1.0000")
    async with uow_factory() as uow:
        assert (await uow.tiers.policy()).version == 1
        assert await uow.draws.running_at(T0) == []


async def test_a_configuration_read_in_a_rolled_back_transaction_is_never_taken_for_a_later_one(
    uow_factory: UowFactory, other_engine: LoyaltyEngine
) -> None:
    # The cache keeps what the rolled-back transaction read (epoch e+1, earn rate 7). With an
    # epoch that counted up instead of coming from a sequence, the change committed next
    # would have that same epoch, and this process would keep earning at 7.
    async with uow_factory() as uow:
        current = await uow.program.get_for_update()
        await uow.program.save(replace(current, earn_rate=Decimal("7"), version=2))
        assert (await uow.program.get()).earn_rate == Decimal("7.0000")

    await set_earn_rate(lambda: PostgresUnitOfWork(other_engine), "2")

    assert await earn_rate(uow_factory) == Decimal("2.0000")


async def test_running_campaigns_are_judged_at_the_time_asked_for(
    uow_factory: UowFactory,
) -> None:
    campaign = a_campaign()
    async with uow_factory() as uow:
        await uow.draws.add_campaign(campaign)
        await uow.commit()

    async with uow_factory() as uow:
        assert [c.id for c in await uow.draws.running_at(T0)] == [campaign.id]
        assert await uow.draws.running_at(T0 - timedelta(days=2)) == []
        assert await uow.draws.running_at(campaign.ends_at) == []
        (running,) = await uow.draws.running_at(T0)
    assert running == campaign


def a_campaign() -> DrawCampaign:
    return DrawCampaign(
        id=SequentialIds(500).new_id(),
        name="Spring draw",
        threshold=10000,
        chances=ChanceRule.ONE,
        chance_valid_days=30,
        starts_at=T0 - timedelta(days=1),
        ends_at=T0 + timedelta(days=1),
        prizes=(Prize("mug", "A mug", 1, None, 5), Prize("tee", "A tee", 2)),
        created_at=T0,
    )
