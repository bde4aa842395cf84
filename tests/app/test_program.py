from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from app.transactions import read, write
from app.use_cases.program import get_program, update_program
from app.use_cases.sales import LineInput, RecordSale, record_sale
from domain.errors import CurrencyLocked
from domain.program import DEFAULT_PROGRAM, ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.sale_dating import SaleDating
from tests.support.fakes import STORE, FakeWorld

ADMIN = "admin:alice"


async def update(world: FakeWorld, proposed: ProgramSettings) -> ProgramSettings:
    return await write(world.uow_factory, lambda uow: update_program(proposed, ADMIN, uow))


async def record_a_sale(world: FakeWorld) -> None:
    cmd = RecordSale(
        store_id=STORE,
        terminal_id=None,
        receipt_id="R-1",
        lines=[LineInput("A", 1, 100)],
    )
    await write(
        world.uow_factory,
        lambda uow: record_sale(cmd, uow, clock=world.clock, ids=world.ids, dating=SaleDating()),
    )


async def test_reading_the_programme_gives_the_stored_settings(world: FakeWorld) -> None:
    assert await read(world.uow_factory, get_program) == DEFAULT_PROGRAM


async def test_an_update_is_saved_as_the_next_version(world: FakeWorld) -> None:
    proposed = replace(DEFAULT_PROGRAM, earn_rate=Decimal("1.5"), version=42)
    updated = await update(world, proposed)
    assert updated == replace(proposed, version=2)
    assert world.db.program.settings == updated
    again = await update(world, replace(updated, pending_days=30))
    assert again.version == 3
    assert again.pending_days == 30


async def test_an_update_is_audited_with_before_and_after(world: FakeWorld) -> None:
    proposed = replace(
        DEFAULT_PROGRAM,
        earn_rate=Decimal("1.5"),
        points_expiry=PointsExpiryRule(ExpiryKind.DAYS, 365),
    )
    await update(world, proposed)
    [entry] = world.db.audit.records
    assert (entry.actor, entry.action, entry.subject) == (ADMIN, "program.updated", "program")
    assert entry.details["from"] == {
        "currency": "CNY",
        "time_zone": "Asia/Shanghai",
        "earn_rate": "1",
        "point_value": "1",
        "points_expiry": {"kind": ExpiryKind.NEVER, "count": None},
        "pending_days": 14,
        "version": 1,
        "crm": {"new_days": 30, "dormant_days": 90, "churned_days": 180, "follow_up_days": 7},
        "refunds_at_any_store": True,
        "guest_claim_days": 30,
    }
    after = entry.details["to"]
    assert isinstance(after, dict)
    assert after["earn_rate"] == "1.5"
    assert after["points_expiry"] == {"kind": "days", "count": 365}
    assert after["version"] == 2


async def test_the_currency_may_change_before_any_sale(world: FakeWorld) -> None:
    updated = await update(world, replace(DEFAULT_PROGRAM, currency="JPY"))
    assert updated.currency == "JPY"
    assert world.db.program.settings.currency == "JPY"


async def test_the_currency_is_locked_once_sales_exist(world: FakeWorld) -> None:
    await record_a_sale(world)
    with pytest.raises(CurrencyLocked):
        await update(world, replace(DEFAULT_PROGRAM, currency="USD"))
    assert world.db.program.settings == DEFAULT_PROGRAM
    assert world.db.audit.records == []


async def test_other_settings_may_change_after_sales(world: FakeWorld) -> None:
    await record_a_sale(world)
    updated = await update(world, replace(DEFAULT_PROGRAM, earn_rate=Decimal(2)))
    assert (updated.currency, updated.earn_rate, updated.version) == ("CNY", Decimal(2), 2)
