"""Reading and changing the programme's settings.

Every change is optimistic: a caller that says which version its change was based on
(``expected_version``, from the ETag or the body) is refused with ``ProgramChanged`` when
another change was saved in between. The version is compared under the row's lock, so of two
admins who both read version 3, exactly one saves version 4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Protocol

from app.unit_of_work import WithAudit, WithProgram, WithSales
from domain.errors import CurrencyLocked, ProgramChanged
from domain.program import ProgramSettings
from domain.repositories import AuditRecord

Revision = Callable[[ProgramSettings], ProgramSettings]


class ProgramUnit(WithAudit, WithProgram, WithSales, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


async def get_program(uow: ProgramUnit) -> ProgramSettings:
    return await uow.program.get()


async def update_program(
    proposed: ProgramSettings,
    actor: str,
    uow: ProgramUnit,
    *,
    expected_version: int | None = None,
) -> ProgramSettings:
    """Replaces the settings with ``proposed`` (a PUT)."""
    return await revise_program(lambda _: proposed, actor, uow, expected_version=expected_version)


async def revise_program(
    revise: Revision,
    actor: str,
    uow: ProgramUnit,
    *,
    expected_version: int | None = None,
) -> ProgramSettings:
    """Saves ``revise(current)`` as the next version (a PATCH applies its patch to the
    settings read under the lock, so two partial changes never undo each other)."""
    current = await uow.program.get_for_update()
    if expected_version is not None and expected_version != current.version:
        raise ProgramChanged(
            f"the settings are at version {current.version}, not {expected_version}"
        )
    proposed = revise(current)
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
