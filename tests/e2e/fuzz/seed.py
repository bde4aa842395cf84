"""One seed per run, chosen afresh unless FUZZ_SEED names one: printed at the start of the
session and in every failure, so any run can be replayed exactly."""

from __future__ import annotations

import os
import secrets

SEED = int(os.environ.get("FUZZ_SEED") or secrets.randbits(32))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))


def replay_hint() -> str:
    return f"seed {SEED}: replay with FUZZ_SEED={SEED} FUZZ_EXAMPLES={EXAMPLES}"
