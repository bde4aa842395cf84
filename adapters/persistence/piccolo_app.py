"""Piccolo's view of this project: one app whose migrations live in the top-level migrations/."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

import migrations
from adapters.persistence.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="loyalty",
    migrations_folder_path=str(Path(migrations.__file__).resolve().parent),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
