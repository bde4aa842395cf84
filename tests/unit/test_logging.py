from __future__ import annotations

import pytest
import structlog

from adapters.logging import configure_logging


def test_a_logged_exception_never_carries_the_frames_local_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    structlog.reset_defaults()  # cache_logger_on_first_use: start from this configuration
    configure_logging("INFO")

    def fail(jwt_secret: str) -> None:
        raise RuntimeError("boom")

    try:
        fail("s3cr3t-jwt-signing-key")
    except RuntimeError:
        structlog.get_logger("test").exception("unhandled_error")
    err = capsys.readouterr().err
    assert "boom" in err  # the traceback is there
    assert "s3cr3t-jwt-signing-key" not in err
