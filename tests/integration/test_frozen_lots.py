"""Frozen (disputed) lots on PostgreSQL: stored, not released by the job, released once thawed."""

from __future__ import annotations

from uuid import uuid4

from piccolo.engine.postgres import PostgresEngine

from domain.points import Reference
from tests.integration.test_points_jobs import (
    UowFactory,
    a_member_with_account,
    account,
    assert_ledger_consistent,
    earn,
    fetch,
    release,
    utc,
)


async def test_the_release_job_leaves_a_frozen_lot_pending_until_it_is_thawed(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    disputed = Reference("sale", str(uuid4()))
    await earn(
        uow_factory,
        member_id,
        120,
        at=utc(2026, 3, 1),
        expires_at=None,
        pending_until=utc(2026, 3, 15),
        reference=disputed,
    )
    async with uow_factory() as uow:
        frozen_account = await uow.points.get_for_update(member_id)
        assert frozen_account.freeze(disputed) == 120
        await uow.points.save(frozen_account)
        await uow.commit()

    held = await release(uow_factory, engine, utc(2026, 4, 1))

    assert (held.lots, held.points, held.failed) == (0, 0, ())
    assert await account(engine, member_id) == (0, 120, 0)
    rows = await fetch(engine, "SELECT frozen, pending FROM points_lots")
    assert [(r["frozen"], r["pending"]) for r in rows] == [(True, True)]

    async with uow_factory() as uow:
        thawed = await uow.points.get_for_update(member_id)
        assert thawed.unfreeze(disputed) == 120
        await uow.points.save(thawed)
        await uow.commit()
    released = await release(uow_factory, engine, utc(2026, 4, 1))

    assert (released.lots, released.points) == (1, 120)
    assert await account(engine, member_id) == (120, 0, 0)
    await assert_ledger_consistent(engine)
