"""Tier moves made in set-based SQL queue their notifications in the same statement."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import asyncpg
import pytest

from adapters.persistence.tier_review import review_tiers
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from tests.integration.test_tier_jobs import NEXT_POLICY, NOW, a_member, a_sale, db

pytestmark = pytest.mark.db
__all__ = ["db"]  # the fixture, shared with the review's own tests


async def notices(connection: asyncpg.Connection) -> list[tuple[object, ...]]:
    rows = await connection.fetch(
        "SELECT member_id, kind, payload::text, created_at, attempts FROM outbox ORDER BY id"
    )
    return [(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]


async def test_the_review_queues_a_notice_for_each_member_it_moves(
    db: asyncpg.Connection,
) -> None:
    up = await a_member(db)
    down = await a_member(db, "gold", short_since=NOW - timedelta(days=31))
    await a_member(db, "silver")  # short for the first time: grace starts, no move, no notice
    await a_sale(db, up, 60_000, NOW - timedelta(days=2))

    await review_tiers(db, NOW)

    assert sorted(await notices(db), key=lambda n: n[2]["reason"]) == [
        (up, "tier_changed", {"from": "member", "to": "gold", "reason": "qualified"}, NOW, 0),
        (down, "tier_changed", {"from": "gold", "to": "member", "reason": "review"}, NOW, 0),
    ]


async def test_a_policy_change_queues_a_notice_for_each_member_it_moves(
    db: asyncpg.Connection, uow_factory: Callable[[], PostgresUnitOfWork]
) -> None:
    member_id = await a_member(db)
    await a_sale(db, member_id, 12_000, NOW - timedelta(days=2))

    async with uow_factory() as uow:
        moved = await uow.tiers.adopt_policy(NEXT_POLICY, "admin:test", NOW)
        await uow.commit()

    assert moved == 1
    assert await notices(db) == [
        (
            member_id,
            "tier_changed",
            {"from": "member", "to": "silver", "reason": "policy_change"},
            NOW,
            0,
        )
    ]
