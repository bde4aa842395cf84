from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.schemas.admin import ProgramIn, ProgramOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.program import get_program, update_program


class AdminProgramController(Controller):
    path = "/program"
    tags = ["admin"]

    @get(
        operation_id="getProgram", summary="The programme's settings", responses=problems(401, 403)
    )
    async def show(self, container: NamedDependency[Container]) -> ProgramOut:
        return ProgramOut.of(await transactions.read(container.uow, get_program))

    @put(
        operation_id="updateProgram",
        summary="Change the programme's settings (audited)",
        responses=problems(401, 403, 409, 422),
    )
    async def update(
        self,
        data: JSONBody[ProgramIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> ProgramOut:
        proposed = data.to_settings()
        updated = await transactions.write(
            container.uow, lambda uow: update_program(proposed, principal.actor, uow)
        )
        return ProgramOut.of(updated)
