from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, patch, put
from litestar.di import NamedDependency
from litestar.params import Body, JSONBody

from adapters.http.merge_patch import MERGE_PATCH_JSON, merge_patch
from adapters.http.schemas.admin import ProgramIn, ProgramOut, ProgramPatch
from adapters.http.schemas.problem import problems
from adapters.http.strict_input import decode_body
from adapters.http.versions import ETAG_HEADER, IfMatch, etag, expected_version
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.program import get_program, revise_program, update_program
from domain.program import ProgramSettings

CONCURRENCY = (
    " Send the version it is based on (the ETag of GET in If-Match, or the body's `version`)"
    " and a change saved meanwhile by someone else is refused with 409 `program_changed`"
    " instead of being overwritten."
)


def _answer(settings: ProgramSettings) -> Response[ProgramOut]:
    return Response(ProgramOut.of(settings), headers={"ETag": etag(settings.version)})


def _patched(current: ProgramSettings, changes: dict[str, object]) -> ProgramSettings:
    """The settings with the merge patch applied, validated as a whole document (a PUT)."""
    document = msgspec.to_builtins(ProgramOut.of(current))
    document.pop("version")
    merged = merge_patch(document, changes)
    settings: ProgramSettings = decode_body(msgspec.json.encode(merged), ProgramIn).to_settings()
    return settings


class AdminProgramController(Controller):
    path = "/program"
    tags = ["admin"]

    @get(
        operation_id="getProgram",
        summary="The programme's settings, with their version as the ETag",
        description="The answer can be sent back to PUT as it is.",
        responses=problems(401, 403),
        response_headers=[ETAG_HEADER],
    )
    async def show(self, container: NamedDependency[Container]) -> Response[ProgramOut]:
        return _answer(await transactions.read(container.uow, get_program))

    @put(
        operation_id="updateProgram",
        summary="Replace the programme's settings (audited)",
        description="Every setting is replaced; `crm` omitted is the defaults." + CONCURRENCY,
        responses=problems(401, 403, 409, 422),
        response_headers=[ETAG_HEADER],
    )
    async def update(
        self,
        data: JSONBody[ProgramIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        if_match: IfMatch = None,
    ) -> Response[ProgramOut]:
        proposed = data.to_settings()
        based_on = expected_version(if_match, data.version)
        updated = await transactions.write(
            container.uow,
            lambda uow: update_program(proposed, principal.actor, uow, expected_version=based_on),
        )
        return _answer(updated)

    @patch(
        operation_id="patchProgram",
        summary="Change some of the programme's settings (JSON merge patch, audited)",
        description=(
            "The body is a JSON merge patch (RFC 7396, `Content-Type: "
            "application/merge-patch+json`): only the settings it names change, objects "
            '(`crm`, `points_expiry`) are merged, so `{"earn_rate": "2"}` leaves the CRM '
            "settings as they are. The patch is applied to the settings as they are when "
            "it is saved, and the result is checked as a whole, like a PUT." + CONCURRENCY
        ),
        responses=problems(401, 403, 409, 422),
        response_headers=[ETAG_HEADER],
    )
    async def patch_(
        self,
        data: Annotated[
            ProgramPatch,
            Body(media_type=MERGE_PATCH_JSON, title="merge patch"),
        ],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        if_match: IfMatch = None,
    ) -> Response[ProgramOut]:
        changes = data.changes()
        based_on = expected_version(
            if_match, data.version if isinstance(data.version, int) else None
        )
        updated = await transactions.write(
            container.uow,
            lambda uow: revise_program(
                lambda current: _patched(current, changes),
                principal.actor,
                uow,
                expected_version=based_on,
            ),
        )
        return _answer(updated)
