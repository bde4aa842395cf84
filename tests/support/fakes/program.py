"""The programme settings."""

from __future__ import annotations

from domain.program import DEFAULT_PROGRAM, ProgramSettings


class FakeProgramRepository:
    def __init__(self, settings: ProgramSettings = DEFAULT_PROGRAM) -> None:
        self.settings = settings

    async def get(self) -> ProgramSettings:
        return self.settings

    async def get_for_update(self) -> ProgramSettings:
        return self.settings

    async def save(self, settings: ProgramSettings) -> None:
        self.settings = settings
