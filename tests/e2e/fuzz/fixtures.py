"""The fuzz modules' served process and world (import them into a test module to use them)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import serving
from tests.e2e.fuzz.world import World
from tests.support.database import reset

# Login and coupon-code limits far above what the fuzzer sends, so that a 429 never hides a
# defect behind it.
FUZZ_ENV = {
    "LOYALTY_LOGIN_CODES_PER_PHONE": "1000000/3600",
    "LOYALTY_LOGIN_CODES_PER_IP": "1000000/3600",
    "LOYALTY_LOGIN_GUESSES_PER_IP": "1000000/3600",
    "LOYALTY_COUPON_CODES_PER_TERMINAL": "1000000/3600",
    "LOYALTY_LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="module")
def service(db_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    # From the default configuration, whatever an earlier module left (a ladder without the
    # `member` tier the catalogue names, say).
    asyncio.run(reset(db_url))
    env = {**os.environ, "DATABASE_URL": db_url, **FUZZ_ENV}
    with serving(env, "--migrate") as base:
        yield base, env


@pytest.fixture(scope="module")
def world(service: tuple[str, dict[str, str]]) -> Iterator[World]:
    base, env = service
    built = World.build(base, env)
    try:
        yield built
    finally:
        built.http.close()
