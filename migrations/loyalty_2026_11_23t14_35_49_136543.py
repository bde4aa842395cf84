"""The ledger hash functions are STABLE, not IMMUTABLE.

They call to_char, convert_to and text concatenation with numbers, which are only STABLE; a
SQL function that claims IMMUTABLE over them is never inlined and is re-planned on every call
(measured: 25,000 entry hashes took 10 s, 0.35 s once STABLE). Every ledger insert pays this.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T14:35:49:136543"
VERSION = "1.38.0"
DESCRIPTION = "hash functions stable"

FORWARDS_SQL = """
ALTER FUNCTION loyalty_field(text) STABLE;
ALTER FUNCTION loyalty_instant(timestamptz) STABLE;
ALTER FUNCTION loyalty_entry_hash(
    uuid, bigint, text, bigint, text, text, timestamptz, timestamptz, text, text, bytea
) STABLE;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
