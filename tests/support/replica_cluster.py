"""A throwaway PostgreSQL primary and its streaming standby, from the machine's binaries.

``initdb`` for the primary, ``pg_basebackup -R`` for the standby (which writes
``standby.signal`` and ``primary_conninfo``), both in one temporary folder and listening only
on a Unix socket there. ``initdb`` refuses to run as root: as root the servers run as the
``postgres`` user (Debian's packages create it), the folder handed over to that user.

The binaries are found through ``LOYALTY_PG_BIN``, else the newest
``/usr/lib/postgresql/<version>/bin``, else ``pg_config --bindir``. Without them the tests
that need a cluster are skipped with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

NEEDED = ("initdb", "pg_ctl", "pg_basebackup")
PRIMARY_PORT = 6001
STANDBY_PORT = 6002

_SETTINGS = """
listen_addresses = ''
unix_socket_directories = '{sockets}'
port = {port}
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 60
wal_keep_size = 64MB
log_min_messages = warning
"""


def binaries() -> Path | None:
    candidates: list[Path] = []
    if os.environ.get("LOYALTY_PG_BIN"):
        candidates.append(Path(os.environ["LOYALTY_PG_BIN"]))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    for folder in candidates:
        if all((folder / name).is_file() for name in NEEDED):
            return folder
    return None


def unavailable(reason: str) -> None:
    """No cluster: a failure under CI, where the capability is required; else a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class ReplicaCluster:
    bin: Path
    base: Path
    user: str | None  # the OS user the servers run as (None: this process's own)
    database: str = "loyalty"

    @property
    def primary_dir(self) -> Path:
        return self.base / "primary"

    @property
    def standby_dir(self) -> Path:
        return self.base / "standby"

    def url(self, port: int, database: str | None = None) -> str:
        return f"postgresql://postgres@/{database or self.database}?host={self.base}&port={port}"

    @property
    def primary_url(self) -> str:
        return self.url(PRIMARY_PORT)

    @property
    def standby_url(self) -> str:
        return self.url(STANDBY_PORT)

    def run(self, *args: str | Path) -> None:
        command = [str(a) for a in args]
        done = subprocess.run(
            command,
            user=self.user,
            capture_output=True,
            text=True,
            cwd=self.base,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def pg_ctl(self, data: Path, action: str, *extra: str) -> None:
        self.run(
            self.bin / "pg_ctl", "-D", data, "-l", data.with_suffix(".log"), "-w", *extra, action
        )

    def start_standby(self) -> None:
        self.pg_ctl(self.standby_dir, "start")

    def stop_standby(self) -> None:
        self.pg_ctl(self.standby_dir, "stop", "-m", "fast")

    async def wait_for_standby(self, within: float = 30.0) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        primary = await asyncpg.connect(self.primary_url)
        try:
            target = await primary.fetchval(
                "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"
            )
        finally:
            await primary.close()
        deadline = time.monotonic() + within
        while True:
            try:
                standby = await asyncpg.connect(self.standby_url)
                try:
                    if await standby.fetchval(
                        "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint >= $1", target
                    ):
                        return
                finally:
                    await standby.close()
            except (OSError, asyncpg.CannotConnectNowError):
                pass  # still starting up
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby did not reach {target}")
            await asyncio.sleep(0.02)

    async def on_standby(self, statement: str) -> object:
        connection = await asyncpg.connect(self.standby_url)
        try:
            return await connection.fetchval(statement)
        finally:
            await connection.close()

    def stop(self) -> None:
        for data in (self.standby_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(RuntimeError):
                    self.pg_ctl(data, "stop", "-m", "immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def start_cluster() -> ReplicaCluster:
    """Starts a primary and its standby; skips (fails under CI) without the binaries."""
    folder = binaries()
    if folder is None:
        unavailable(
            f"no PostgreSQL server binaries ({', '.join(NEEDED)}) in LOYALTY_PG_BIN, "
            "/usr/lib/postgresql/*/bin or pg_config --bindir"
        )
        raise AssertionError("unreachable")
    user: str | None = None
    base = Path(tempfile.mkdtemp(prefix="loyalty-replica-"))
    if os.geteuid() == 0:
        # initdb refuses root: the servers run as the unprivileged postgres user.
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base, ignore_errors=True)
            pytest.fail("running as root, and there is no 'postgres' user to run initdb as")
        user = "postgres"
        os.chown(base, account.pw_uid, account.pw_gid)
    base.chmod(0o700)
    cluster = ReplicaCluster(folder, base, user)
    try:
        cluster.run(
            folder / "initdb",
            "-D",
            cluster.primary_dir,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        with open(cluster.primary_dir / "postgresql.conf", "a") as conf:
            conf.write(_SETTINGS.format(sockets=base, port=PRIMARY_PORT))
        cluster.pg_ctl(cluster.primary_dir, "start")
        cluster.run(
            folder / "pg_basebackup",
            "-h",
            base,
            "-p",
            str(PRIMARY_PORT),
            "-U",
            "postgres",
            "-D",
            cluster.standby_dir,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        with open(cluster.standby_dir / "postgresql.conf", "a") as conf:
            conf.write(f"port = {STANDBY_PORT}\n")
        cluster.start_standby()
    except BaseException:
        cluster.stop()
        raise
    return cluster
