"""What a database's schema is made of, read from the catalogue as plain comparable rows.

Independent of the order in which migrations created things: every fact is keyed by names.
"""

from __future__ import annotations

from typing import Any

import asyncpg

FACTS = {
    "columns": """
        SELECT c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2""",
    "tables": """
        SELECT relname, relkind, relpersistence, array_to_string(reloptions, ',')
        FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v')
        ORDER BY 1""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid),
               condeferrable, condeferred, convalidated
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' ORDER BY 1, 2""",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid), tgenabled
        FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1, 2""",
    "sequences": """
        SELECT s.relname, q.seqtypid::regtype::text, q.seqstart, q.seqincrement, q.seqmin,
               q.seqmax, q.seqcache, q.seqcycle,
               (SELECT d.refobjid::regclass::text || '.' || a.attname
                FROM pg_depend d
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.objid = s.oid AND d.deptype = 'a') AS owned_by
        FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid
        WHERE s.relnamespace = 'public'::regnamespace ORDER BY 1""",
    # The rows a new programme starts with, minus the instants they were written at.
    "seed rows": """
        SELECT 'program_settings', to_jsonb(s) - 'updated_at' FROM program_settings s
        UNION ALL SELECT 'tiers', to_jsonb(t) FROM tiers t
        UNION ALL SELECT 'tier_policies', to_jsonb(p) - 'created_at' FROM tier_policies p
        UNION ALL SELECT 'config_epoch', to_jsonb(e) FROM config_epoch e
        ORDER BY 1, 2""",
}


async def schema_facts(url: str, *, seed_rows: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    connection = await asyncpg.connect(url)
    try:
        return {
            name: [tuple(row) for row in await connection.fetch(query)]
            for name, query in FACTS.items()
            if seed_rows or name != "seed rows"
        }
    finally:
        await connection.close()


def differences(
    left: dict[str, list[tuple[Any, ...]]], right: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    """One line per fact found on one side only, "-" for the left and "+" for the right."""
    lines: list[str] = []
    for name in left.keys() | right.keys():
        only_left = set(left.get(name, [])) - set(right.get(name, []))
        only_right = set(right.get(name, [])) - set(left.get(name, []))
        lines += [f"{name}: - {fact}" for fact in sorted(only_left, key=repr)]
        lines += [f"{name}: + {fact}" for fact in sorted(only_right, key=repr)]
    return sorted(lines)
