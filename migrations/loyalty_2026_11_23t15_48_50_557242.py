"""Room on members' pages for the tier review's updates.

The review rewrites a member row whenever their tier standing changes. With full pages every
such update moves the row to another page and touches every index of the table; with a tenth
of each page free, an update that leaves the indexed columns alone (a grace period starting or
ending) stays on its page (a HOT update) and writes no index entry. Existing pages keep their
packing until the table is rewritten (VACUUM FULL or pg_repack).
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T15:48:50:557242"
VERSION = "1.38.0"
DESCRIPTION = "members fillfactor"

FORWARDS_SQL = """
ALTER TABLE members SET (fillfactor = 90);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
