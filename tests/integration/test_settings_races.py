"""Two admins change the programme's settings at once, both from the version they read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import asyncpg
import pytest

from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.use_cases.program import revise_program
from domain.errors import ProgramChanged
from domain.program import ProgramSettings
from tests.support.overlap import race

pytestmark = pytest.mark.db


async def test_of_two_admins_who_read_the_same_version_exactly_one_saves(
    db_url: str, uow_factory: Callable[[], PostgresUnitOfWork]
) -> None:
    async def change(actor: str, earn_rate: str) -> ProgramSettings | str:
        try:
            async with uow_factory() as uow:
                saved = await revise_program(
                    lambda current: replace(current, earn_rate=Decimal(earn_rate)),
                    actor,
                    uow,
                    expected_version=1,
                )
                await uow.commit()
                return saved
        except ProgramChanged as refused:
            return refused.code

    results, waits = await race(
        db_url,
        [change("admin:a", "2"), change("admin:b", "3")],
        gate="program_settings",
    )

    waits.assert_overlapped("two settings changes")
    saved = [r for r in results if isinstance(r, ProgramSettings)]
    assert len(saved) == 1
    assert saved[0].version == 2
    assert [r for r in results if not isinstance(r, ProgramSettings)] == ["program_changed"]
    connection = await asyncpg.connect(db_url)
    try:
        row = await connection.fetchrow("SELECT version, earn_rate FROM program_settings")
        audited = await connection.fetchval("SELECT count(*) FROM audit_log")
    finally:
        await connection.close()
    assert (row["version"], row["earn_rate"]) == (2, saved[0].earn_rate)
    assert audited == 1
