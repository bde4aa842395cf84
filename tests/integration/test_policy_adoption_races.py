"""A tier policy adopted while a sale moves the same member: the sale's move stands.

No lock is taken for this on purpose: a sale that changes a member's tier checks the new tier
row (the foreign key, FOR KEY SHARE), and the adoption rewrites every tier row's rank, a
unique key (FOR UPDATE). So whichever comes second waits for the other to commit, and the
adoption's move of members reads tiers that no sale is still changing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import asyncpg
import pytest

from adapters.persistence.unit_of_work import PostgresUnitOfWork
from tests.integration.test_tier_jobs import NEXT_POLICY, NOW, a_member, a_sale, db
from tests.support.overlap import waiting_for_a_lock

pytestmark = pytest.mark.db
__all__ = ["db"]  # the fixture, shared with the review's own tests


async def test_a_member_a_sale_moved_up_meanwhile_is_not_moved_back_by_the_new_policy(
    db: asyncpg.Connection, uow_factory: Callable[[], PostgresUnitOfWork]
) -> None:
    # 12,000 qualifies for silver under the new policy; the sale (below, holding the member's
    # row) has just made the member gold.
    member_id = await a_member(db)
    await a_sale(db, member_id, 12_000, NOW - timedelta(days=2))
    sale = db.transaction()
    await sale.start()
    await db.execute("UPDATE members SET tier_code = 'gold' WHERE id = $1", member_id)

    async def adopt() -> int:
        async with uow_factory() as uow:
            moved = await uow.tiers.adopt_policy(NEXT_POLICY, "admin:test", NOW)
            await uow.commit()
            return moved

    adoption = asyncio.create_task(adopt())
    async with asyncio.timeout(5):
        while not await waiting_for_a_lock(db):  # noqa: ASYNC110 (the server is polled)
            await asyncio.sleep(0.02)
    await sale.commit()
    moved = await asyncio.wait_for(adoption, 5)

    assert moved == 0
    assert await db.fetchval("SELECT tier_code FROM members WHERE id = $1", member_id) == "gold"
    changes = await db.fetchval("SELECT count(*) FROM tier_changes WHERE member_id = $1", member_id)
    assert changes == 0
