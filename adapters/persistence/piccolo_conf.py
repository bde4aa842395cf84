"""Configuration for Piccolo's own CLI and migration runner (PICCOLO_CONF points here).

The service itself does not use this module's engine: its composition root builds one when it
starts. Building a PostgresEngine connects to nothing, so importing this module is cheap.
"""

from __future__ import annotations

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.engine import engine_config

DB = PostgresEngine(config=engine_config(os.environ.get("DATABASE_URL", "")), extensions=())

APP_REGISTRY = AppRegistry(apps=["adapters.persistence.piccolo_app"])
