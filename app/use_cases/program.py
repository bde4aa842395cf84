"""Reading and changing the programme's settings."""

from __future__ import annotations

from dataclasses import asdict
from typing import Protocol

from app.unit_of_work import WithAudit, WithProgram, WithSales
from domain.errors import CurrencyLocked
from domain.program import ProgramSettings
from domain.repositories import AuditRecord


class ProgramUnit(WithAudit, WithProgram, WithSales, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


async def get_program(uow: ProgramUnit) -> ProgramSettings:
    return await uow.program.get()


async def update_program(
    proposed: ProgramSettings, actor: str, uow: ProgramUnit
) -> ProgramSettings:
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
