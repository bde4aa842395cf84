"""Which stored configuration rows the service does not apply as they are, for GET /health.

The cached configuration (programme, tier policy and ladder, draw campaigns and prizes)
refuses bad rows when it loads (config_cache); coupon templates are read when used, with
their times clamped (stored_times), so their times are checked here in SQL.
"""

from __future__ import annotations

from typing import Any

from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.engine import clean_connection
from app.health import ConfigurationHealth, ConfigurationUnavailable, RefusedRow
from domain.time_range import EARLIEST_INSTANT, LATEST_INSTANT

# Compared in SQL and shown as PostgreSQL's text: no stored value is decoded.
_TEMPLATE_TIMES = """
SELECT id::text AS id, valid_from::text AS valid_from, valid_until::text AS valid_until
FROM coupon_templates
WHERE NOT (valid_from IS NULL OR (valid_from >= $1 AND valid_from < $2))
   OR NOT (valid_until IS NULL OR (valid_until >= $1 AND valid_until < $2))
ORDER BY id
"""


def _template_reason(row: Any) -> str:
    times = ", ".join(
        f"{name} {row[name]}" for name in ("valid_from", "valid_until") if row[name] is not None
    )
    return (
        f"{times}: outside {EARLIEST_INSTANT:%Y-%m-%d}..{LATEST_INSTANT:%Y-%m-%d}; "
        "read clamped, repair the row"
    )


async def configuration_health(engine: Any) -> ConfigurationHealth:
    async with clean_connection(engine) as connection, connection.transaction(readonly=True):
        try:
            refused = list((await engine.config_cache.current(connection)).refused)
            usable = True
        except ConfigurationUnavailable as unavailable:
            refused, usable = list(unavailable.refused), False
        for row in await connection.fetch(_TEMPLATE_TIMES, EARLIEST_INSTANT, LATEST_INSTANT):
            refused.append(RefusedRow("coupon_templates", row["id"], _template_reason(row)))
    return ConfigurationHealth(usable, tuple(refused))


class PostgresProbe:
    """The health check's DatabaseProbe (app.health)."""

    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        await self._engine.run_ddl("SELECT 1", in_pool=True)

    async def configuration(self) -> ConfigurationHealth:
        return await configuration_health(self._engine)
