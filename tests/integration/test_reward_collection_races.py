"""Collecting an item reward at tills, on PostgreSQL: two tills of two stores collecting one
fulfilment code at the same instant hand it over once; what was recorded satisfies the
database's own checks (the cash paid is the price)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import asyncpg
import pytest

from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.use_cases.reward_collection import CollectReward, collect_reward
from domain.coupon_codes import display
from domain.errors import RewardRedemptionUsed
from domain.reward_catalogue import RedemptionStatus
from tests.integration.factories import a_store, a_terminal
from tests.integration.test_reward_catalogue_races import Shop, outcome
from tests.support.overlap import race

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]


async def test_two_tills_collecting_one_code_at_once_hand_the_item_over_once(
    uow_factory: UowFactory, clean_db: str
) -> None:
    shop = Shop(uow_factory)
    (member,) = await shop.open(1)
    await shop.sell(member, "R-1", 50_000)  # 500 points
    reward = await shop.reward(stock=5, cash_price=1_990)
    redemption_id = await shop.redeem(member, reward)
    other = a_store("SHA-002")
    tills = [a_terminal(shop.store.id, "till-1"), a_terminal(other.id, "till-9")]
    async with uow_factory() as uow:
        await uow.stores.add_store(other)
        for till in tills:
            await uow.stores.add_terminal(till)
        redemption = await uow.catalogue.get_redemption(redemption_id)
        await uow.commit()
    assert redemption is not None
    assert redemption.fulfilment_code is not None
    code = display(redemption.fulfilment_code)

    async def collect(store: UUID, terminal: UUID) -> UUID | None:
        async with uow_factory() as uow:
            collected = await collect_reward(
                CollectReward(code, 1_990, store, terminal, f"pos:{terminal}"),
                uow,
                clock=shop.clock,
            )
            await uow.commit()
        return collected.fulfilled_terminal_id

    outcomes, waits = await race(
        clean_db,
        [outcome(collect(till.store_id, till.id)) for till in tills],
        gate="reward_redemptions",
    )

    waits.assert_overlapped("two tills collecting one code", at_least=2)
    won = [o for o in outcomes if isinstance(o, UUID)]
    refused = [o for o in outcomes if isinstance(o, RewardRedemptionUsed)]
    assert (len(won), len(refused)) == (1, 1), outcomes
    async with uow_factory() as uow:
        stored = await uow.catalogue.get_redemption(redemption_id)
    assert stored is not None
    assert (stored.status, stored.cash_paid, stored.fulfilled_terminal_id) == (
        RedemptionStatus.FULFILLED,
        1_990,
        won[0],
    )


async def test_the_database_refuses_cash_paid_other_than_the_price(
    uow_factory: UowFactory, db_url: str, clean_db: str
) -> None:
    shop = Shop(uow_factory)
    (member,) = await shop.open(1)
    await shop.sell(member, "R-1", 50_000)
    reward = await shop.reward(stock=5, cash_price=1_990)
    redemption_id = await shop.redeem(member, reward)
    connection = await asyncpg.connect(db_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError, match="reward_redemptions_cash_paid"):
            await connection.execute(
                "UPDATE reward_redemptions SET status = 'fulfilled', fulfilled_at = now(), "
                "cash_paid = 1000 WHERE id = $1",
                redemption_id,
            )
        with pytest.raises(asyncpg.CheckViolationError, match="reward_redemptions_fulfilled"):
            await connection.execute(
                "UPDATE reward_redemptions SET status = 'fulfilled' WHERE id = $1",
                redemption_id,
            )
    finally:
        await connection.close()
