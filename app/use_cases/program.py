"""Reading and changing the programme's settings."""

from __future__ import annotations

from dataclasses import asdict

from app.unit_of_work import UnitOfWork
from domain.errors import CurrencyLocked
from domain.program import ProgramSettings
from domain.repositories import AuditRecord


async def get_program(uow: UnitOfWork) -> ProgramSettings:
    return await uow.program.get()


async def update_program(proposed: ProgramSettings, actor: str, uow: UnitOfWork) -> ProgramSettings:
    current = await uow.program.get_for_update()
    # Amounts are stored in minor units of the programme currency without a currency column
    # per posting; switching currency under recorded sales would silently revalue them.
    if proposed.currency != current.currency and await uow.sales.any_recorded():
        raise CurrencyLocked()
    updated = current.revised(proposed)
    await uow.program.save(updated)
    await uow.audit.record(
        AuditRecord(
            actor,
            "program.updated",
            "program",
            {"from": _jsonable(current), "to": _jsonable(updated)},
        )
    )
    return updated


def _jsonable(settings: ProgramSettings) -> dict[str, object]:
    return {k: str(v) if not isinstance(v, int | dict) else v for k, v in asdict(settings).items()}
