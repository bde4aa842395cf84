"""Events for integrators written by the set-based jobs in the same statement as their work:
one points.expired per expired lot, one tier.changed per member a review or a policy change
moves, and none for what a run did not do."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.points_expiry import expire_points
from adapters.persistence.tier_review import review_tiers
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from tests.integration.test_points_jobs import a_member_with_account, earn, redeem, utc
from tests.integration.test_tier_jobs import NEXT_POLICY, NOW, a_member, a_sale, db

pytestmark = pytest.mark.db
__all__ = ["db"]
UowFactory = Callable[[], PostgresUnitOfWork]


async def events(connection: Any, event_type: str) -> list[dict[str, Any]]:
    rows = await connection.fetch(
        "SELECT data::text AS data, occurred_at, member_id, personal FROM integration_events "
        "WHERE event_type = $1 ORDER BY occurred_at, data->>'member_id'",
        event_type,
    )
    return [
        {**json.loads(r["data"]), "_at": r["occurred_at"], "_member": r["member_id"]}
        for r in rows
        if r["personal"] is None
    ]


async def test_the_expiry_job_announces_each_expired_lot_once(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    await earn(uow_factory, member_id, 100, at=utc(2026, 1, 5), expires_at=utc(2026, 2, 1))
    await earn(uow_factory, member_id, 50, at=utc(2026, 1, 6), expires_at=utc(2026, 9, 1))
    await redeem(uow_factory, member_id, 30, at=utc(2026, 1, 20))

    report = await expire_points(engine, utc(2026, 2, 1))
    await expire_points(engine, utc(2026, 2, 1))  # a second run expires, and says, nothing

    async with engine.pool.acquire() as connection:
        expired = await events(connection, "points.expired")
    assert [(e["member_id"], e["points"], e["reference"]) for e in expired] == [
        (str(member_id), -70, report.reference)
    ]
    assert expired[0]["_at"] == utc(2026, 2, 1)
    assert expired[0]["_member"] == member_id


async def test_the_tier_review_announces_each_member_it_moves(db: asyncpg.Connection) -> None:
    up = await a_member(db)
    down = await a_member(db, "gold", short_since=NOW - timedelta(days=31))
    await a_member(db, "silver")  # grace starts: no move, no event
    await a_sale(db, up, 60_000, NOW - timedelta(days=2))

    await review_tiers(db, NOW)

    changed = await events(db, "tier.changed")
    assert sorted((e["member_id"], e["from"], e["to"], e["reason"]) for e in changed) == sorted(
        [(str(up), "member", "gold", "qualified"), (str(down), "gold", "member", "review")]
    )


async def test_a_policy_change_announces_each_member_it_moves(
    db: asyncpg.Connection, uow_factory: UowFactory
) -> None:
    member_id = await a_member(db)
    await a_sale(db, member_id, 12_000, NOW - timedelta(days=2))

    async with uow_factory() as uow:
        await uow.tiers.adopt_policy(NEXT_POLICY, "admin:test", NOW)
        await uow.commit()

    changed = await events(db, "tier.changed")
    assert [(e["member_id"], e["to"], e["reason"]) for e in changed] == [
        (str(member_id), "silver", "policy_change")
    ]
