from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from app.container import Container


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(operation_id="getHealth", summary="Liveness and database reachability")
    async def health(self, container: NamedDependency[Container]) -> Response[dict[str, Any]]:
        try:
            await container.database.ping()
        except Exception:
            return Response(
                {"status": "degraded", "database": "unreachable"},
                status_code=503,
                headers={"Retry-After": "2"},
            )
        return Response({"status": "ok", "database": "ok"})
