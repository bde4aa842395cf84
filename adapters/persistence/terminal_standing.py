"""Whether a POS token's terminal still stands: one primary-key read per till request, on the
pool, outside any transaction (app.use_cases.stores.refuse_stale_terminal_token)."""

from __future__ import annotations

from uuid import UUID

from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.engine import clean_connection

_VERSION = "SELECT secret_version FROM terminals WHERE id = $1 AND active"


class PostgresTerminalStanding:
    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine

    async def secret_version(self, terminal_id: UUID) -> int | None:
        async with clean_connection(self._engine) as connection:
            version: int | None = await connection.fetchval(_VERSION, terminal_id)
            return version
