"""A served process, as an operator runs it, for tests that need real HTTP and real concurrency.

Litestar's AsyncTestClient hands each request to the app's own thread and waits for it, so
requests gathered in a test run one after another; races are only real over TCP.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(BIN / "loyalty"), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@contextmanager
def serving(env: dict[str, str], *args: str, port: int | None = None) -> Iterator[str]:
    """`loyalty serve` on a free port with `env`, until the block ends; yields its base URL.

    Its output goes to a file, not a pipe: a pipe nobody reads fills after 64 KB of log (a
    fuzz run logs every 500 with its traceback), and the service then blocks in a write."""
    port = port or free_port()
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(
            [str(BIN / "loyalty"), "serve", "--port", str(port), *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_SECONDS
        try:
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    pytest.fail(f"the service did not start:\n{output.read()}")
                time.sleep(0.2)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def service(db_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**os.environ, "DATABASE_URL": db_url, "LOYALTY_LOG_LEVEL": "WARNING"}
    with serving(env, "--migrate") as base:
        yield base, env


# -- the fuzzer's seed and findings (tests/e2e/fuzz) ---------------------------------------


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.get_closest_marker("fuzz") for item in session.items):
        from tests.e2e.fuzz.seed import replay_hint

        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"fuzz {replay_hint()}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.e2e.fuzz.findings import SESSION
    from tests.e2e.fuzz.seed import replay_hint

    if SESSION:
        terminalreporter.write_sep("=", f"fuzz findings: {len(SESSION)} ({replay_hint()})")
        for finding in SESSION.values():
            terminalreporter.write_line(finding.line())
