"""The use-case tests run on the fakes (tests/support/fakes); each test gets a fresh world."""

from __future__ import annotations

import pytest

from tests.support.fakes import FakeWorld


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()
