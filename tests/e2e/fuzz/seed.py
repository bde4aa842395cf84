"""One seed per run, chosen afresh unless FUZZ_SEED names one: printed at the start of the
session and in every failure, so any run can be replayed exactly. FUZZ_EXAMPLES sets how many
examples each case draws (4 in `make test`, 100 in `make fuzz`)."""

from __future__ import annotations

import os
import secrets
import zlib

from hypothesis import HealthCheck, Phase, settings

SEED = int(os.environ.get("FUZZ_SEED") or secrets.randbits(32))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))


def replay_hint() -> str:
    return f"seed {SEED}: replay with FUZZ_SEED={SEED} FUZZ_EXAMPLES={EXAMPLES}"


def seed_of(*parts: str) -> int:
    """The run's seed, mixed with the case's name: each case its own stream, all replayable."""
    return SEED ^ zlib.crc32("/".join(parts).encode())


def settings_for(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # replay is by FUZZ_SEED, not by a local example database
        phases=[Phase.explicit, Phase.generate],  # shrinking would replay writes: no
        report_multiple_bugs=False,  # one failure per case; its findings list every defect
        suppress_health_check=list(HealthCheck),
    )
