"""Compares the schema the migrations of another revision build with the one this tree builds.

    python -m tests.support.compare_schemas ec65ef3

Two fresh databases on the tests' server (tests/support/database.py): one migrated by the
revision's own code and migrations (`git archive` into a temporary folder, run there), one by
this working tree. Both are compared twice: `pg_dump --schema-only` text, and the catalogue's
facts (tests/support/schema_facts.py: columns with their positions, types, nullability and
defaults; constraints, indexes, triggers, functions, sequences, table options; the seed rows).
The `migration` table's rows are the one expected difference and are not compared.

Made to prove that the baseline (migrations/baseline.sql) builds exactly the schema of the
chain of migrations it replaced (the last commit with that chain is ec65ef3). Exit status 0
when both comparisons find no difference.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.support.database import PROJECT_ROOT, server_url
from tests.support.schema_facts import differences, schema_facts

MIGRATE = (
    "import asyncio, sys\n"
    "from adapters.persistence.migrate import migrate\n"
    "asyncio.run(migrate(sys.argv[1]))\n"
)


def _database(server: str, name: str) -> str:
    return urlunsplit(urlsplit(server)._replace(path="/" + name))


def migrate_with(tree: Path, url: str) -> None:
    """Runs `tree`'s own migrate() in a process of its own (its modules, not this tree's)."""
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    environment.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", MIGRATE, url],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"migrating with {tree} failed:\n{result.stdout}{result.stderr}")


def _pg_dumps() -> list[str]:
    """The system's pg_dump, then the embedded PostgreSQL's (for a newer server)."""
    import pgserver

    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
    return [path for path in (shutil.which("pg_dump"), str(bundled)) if path]


def dump(url: str) -> list[str] | None:
    """The schema as pg_dump writes it, without the lines that differ on every run."""
    errors = []
    for pg_dump in _pg_dumps():
        result = subprocess.run(
            [pg_dump, "--schema-only", "--no-owner", "--no-privileges", "--dbname", url],
            capture_output=True,
            text=True,
        )
        if result.returncode == 0:
            volatile = ("\\restrict ", "\\unrestrict ", "-- Dumped from ", "-- Dumped by ")
            return [line for line in result.stdout.splitlines() if not line.startswith(volatile)]
        errors.append(result.stderr.strip())  # e.g. a pg_dump older than the server
    print("no pg_dump could dump the schema, text comparison skipped: " + " / ".join(errors))
    return None


async def _admin(server: str, statements: list[str]) -> None:
    connection = await asyncpg.connect(server)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def build(revision: str, urls: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="loyalty-compare-") as folder:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", revision],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        migrate_with(Path(folder), urls["revision"])
    migrate_with(PROJECT_ROOT, urls["tree"])


def compare_dumps(revision: str, urls: dict[str, str]) -> bool:
    dumps = {side: dump(url) for side, url in urls.items()}
    if dumps["revision"] is None or dumps["tree"] is None:
        return True
    diff = list(
        difflib.unified_diff(dumps["revision"], dumps["tree"], revision, "tree", lineterm="")
    )
    print(f"pg_dump --schema-only: {len(dumps['tree'])} lines, ", end="")
    print("identical" if not diff else f"{len(diff)} lines of diff:")
    if diff:
        print("\n".join(diff))
    return not diff


def compare_facts(urls: dict[str, str]) -> bool:
    facts = {side: asyncio.run(schema_facts(url)) for side, url in urls.items()}
    counts = ", ".join(f"{len(rows)} {name}" for name, rows in facts["tree"].items())
    found = differences(facts["revision"], facts["tree"])
    print(f"catalogue: {counts}: ", end="")
    print("identical" if not found else f"{len(found)} differences:")
    if found:
        print("\n".join(found))
    return not found


def compare(revision: str, keep: bool) -> int:
    server = server_url()
    suffix = secrets.token_hex(3)
    names = {"revision": f"loyalty_compare_rev_{suffix}", "tree": f"loyalty_compare_tree_{suffix}"}
    urls = {side: _database(server, name) for side, name in names.items()}
    asyncio.run(_admin(server, [f'CREATE DATABASE "{name}"' for name in names.values()]))
    try:
        build(revision, urls)
        same_text = compare_dumps(revision, urls)
        same_facts = compare_facts(urls)
        return 0 if same_text and same_facts else 1
    finally:
        if keep:
            print("kept: " + ", ".join(urls.values()))
        else:
            drop = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names.values()]
            asyncio.run(_admin(server, drop))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="a commit whose migrations/ to compare with, e.g. ec65ef3")
    parser.add_argument("--keep", action="store_true", help="keep both databases")
    args = parser.parse_args()
    sys.exit(compare(args.revision, args.keep))


if __name__ == "__main__":
    main()
