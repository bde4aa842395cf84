"""Where the real retail data lives: ../shared/data next to the repository, as on the team's
machines; LOYALTY_SHARED_DATA names another folder (a CI checkout elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

_BESIDE_REPOSITORY = Path(__file__).resolve().parents[3] / "shared" / "data"
_TEAM_MACHINE = Path("/work/shared/data")


def shared_data_dir() -> Path:
    configured = os.environ.get("LOYALTY_SHARED_DATA")
    if configured:
        return Path(configured)
    if _BESIDE_REPOSITORY.exists():
        return _BESIDE_REPOSITORY
    return _TEAM_MACHINE
