"""Finding a PostgreSQL server: the configured one, or an embedded one for development."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def embedded_database_url(data_dir: Path) -> str:
    """Starts (or re-attaches to) the embedded PostgreSQL kept under ``data_dir/pg``.

    The server stops when the last process that asked for it exits.
    """
    import pgserver  # imported lazily: only development and test runs without a server need it

    pgdata = data_dir / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        print(
            "warning: running as root: the embedded PostgreSQL runs as the 'pgserver' user and "
            f"grants it read/execute on every parent folder of {pgdata}",
            file=sys.stderr,
        )
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    url: str = server.get_uri()
    return url


def resolve_database_url(configured: str | None, data_dir: Path) -> str:
    if configured:
        return configured
    url = embedded_database_url(data_dir)
    print(f"embedded PostgreSQL at {data_dir / 'pg'} ({url})", file=sys.stderr)
    return url
