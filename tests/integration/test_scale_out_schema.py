"""The schema stays ready to distribute by member (docs/scale-out.md).

Every table is classified in tests/support/distribution.py; every member-owned table carries
its member column; every unique index on one includes that column, unless
``UNIQUE_EXCEPTIONS`` names it with its reason (Citus enforces uniqueness only within a
shard).
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from tests.support.distribution import COORDINATOR, DISTRIBUTED, REFERENCE, UNIQUE_EXCEPTIONS

_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
"""

_KEY_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relname = ANY($1::text[]) AND a.attnum > 0
  AND NOT a.attisdropped
"""

# Unique indexes (primary keys and unique constraints included) and the columns they cover.
_UNIQUE_INDEXES = """
SELECT t.relname AS table_name, i.relname AS index_name,
       array(SELECT a.attname FROM unnest(x.indkey) AS k(attnum)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) AS columns
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND x.indisunique AND t.relname = ANY($1::text[])
"""


async def schema_problems(
    connection: asyncpg.Connection,
    distributed: Mapping[str, str],
    exceptions: Mapping[tuple[str, str], str],
) -> list[str]:
    """What would stop ``distributed`` tables from being distributed by their member column."""
    problems: list[str] = []
    names = sorted(distributed)
    columns: dict[str, dict[str, str]] = {}
    for row in await connection.fetch(_KEY_COLUMNS, names):
        columns.setdefault(row["relname"], {})[row["attname"]] = row["type"]
    for table, key in distributed.items():
        if columns.get(table, {}).get(key) != "uuid":
            problems.append(f"{table} has no uuid column {key} to be distributed by")
    for row in await connection.fetch(_UNIQUE_INDEXES, names):
        table, index = row["table_name"], row["index_name"]
        if distributed[table] in row["columns"]:
            continue
        if (table, index) not in exceptions:
            problems.append(
                f"unique index {index} on {table} ({', '.join(row['columns'])}) omits "
                f"{distributed[table]}"
            )
    return problems


async def test_every_table_is_classified_once(db_url: str) -> None:
    connection = await asyncpg.connect(db_url)
    try:
        tables = {row["relname"] for row in await connection.fetch(_TABLES)}
    finally:
        await connection.close()
    distributed, reference, coordinator = set(DISTRIBUTED), set(REFERENCE), set(COORDINATOR)
    assert distributed & reference == set()
    assert distributed & coordinator == set()
    assert reference & coordinator == set()
    classified = distributed | reference | coordinator
    assert tables - classified == set(), "classify these in tests/support/distribution.py"
    assert classified - tables == set(), "these are classified but no longer exist"


async def test_member_owned_tables_carry_member_id_in_every_unique_index(db_url: str) -> None:
    connection = await asyncpg.connect(db_url)
    try:
        assert await schema_problems(connection, DISTRIBUTED, UNIQUE_EXCEPTIONS) == []
        present = {
            (row["table_name"], row["index_name"])
            for row in await connection.fetch(_UNIQUE_INDEXES, sorted(DISTRIBUTED))
        }
    finally:
        await connection.close()
    stale = set(UNIQUE_EXCEPTIONS) - present
    assert not stale, f"exceptions for unique indexes that no longer exist: {sorted(stale)}"


async def test_the_check_refuses_a_missing_member_id_and_a_unique_index_without_it(
    db_url: str,
) -> None:
    connection = await asyncpg.connect(db_url)
    try:
        async with connection.transaction():
            await connection.execute(
                "CREATE TABLE scale_probe_owned (id bigint PRIMARY KEY, code text UNIQUE, "
                "member_id uuid NOT NULL, UNIQUE (member_id, id))"
            )
            await connection.execute("CREATE TABLE scale_probe_keyless (id bigint)")
            problems = await schema_problems(
                connection,
                {"scale_probe_owned": "member_id", "scale_probe_keyless": "member_id"},
                {("scale_probe_owned", "scale_probe_owned_pkey"): "surrogate"},
            )
            raise _RollBack(problems)
    except _RollBack as rolled_back:
        problems = rolled_back.problems
    finally:
        await connection.close()
    assert problems == [
        "scale_probe_keyless has no uuid column member_id to be distributed by",
        "unique index scale_probe_owned_code_key on scale_probe_owned (code) omits member_id",
    ]


class _RollBack(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
