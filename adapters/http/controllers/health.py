from __future__ import annotations

from typing import Any

import structlog
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from app.container import Container

log = structlog.get_logger("loyalty.health")


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        operation_id="getHealth",
        summary="Liveness and database reachability",
        description=(
            "503 only when the database is unreachable: this process cannot answer anything. "
            "Otherwise 200, with `status: degraded` when stored configuration rows are not "
            "applied as they are (`configuration.refused`: table, row, reason; each is also "
            "logged as `config.row_refused`). Load balancers should route on the status code: "
            "every instance reads the same rows, so taking them out of rotation for a bad row "
            "would stop every till instead of the rows' own feature; alert on `degraded`. "
            "`configuration.usable: false` means the programme or tier ladder itself cannot "
            "be read (sales answer 503 `configuration_unavailable` until it is repaired)."
        ),
    )
    async def health(self, container: NamedDependency[Container]) -> Response[dict[str, Any]]:
        try:
            await container.database.ping()
        except Exception:
            return Response(
                {"status": "degraded", "database": "unreachable"},
                status_code=503,
                headers={"Retry-After": "2"},
            )
        try:
            configuration = await container.database.configuration()
        except Exception:
            log.exception("health.configuration_unchecked")
            return Response(
                {"status": "degraded", "database": "ok", "configuration": {"status": "unknown"}}
            )
        refused = [
            {"table": r.table, "row": r.row, "reason": r.reason} for r in configuration.refused
        ]
        healthy = configuration.usable and not refused
        return Response(
            {
                "status": "ok" if healthy else "degraded",
                "database": "ok",
                "configuration": {
                    "status": "ok" if healthy else "degraded",
                    "usable": configuration.usable,
                    "refused": refused,
                },
            }
        )
