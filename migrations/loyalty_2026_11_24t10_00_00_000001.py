"""The tier review's updates stay on their page: no index on members.tier_code.

An update that changes an indexed column can never be a HOT update: it writes a new entry in
every index of members (primary key, phone, tier) and usually moves the row to another page.
The first review after a big change moves most members (up to the tier they qualify for,
grace periods started), so every one of those updates paid for three index entries. Without
this index a tier change touches no index column, stays on its page where there is room (the
table's fillfactor leaves a tenth of each page free) and writes no index entry.

What the index served, and what it costs now (1,000,000 members, tests/bench/bench_tiers.py):
a segment of one tier (`segment_sql`, CRM previews and coupon issues) reads the table instead,
about as fast for a tier of 14 % of the members (both about 0.2 s); and deleting a tier (a
policy change that removes one) checks members.tier_code with a scan, once per removed tier.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-24T10:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "drop members.tier_code index (HOT updates for tier changes)"

FORWARDS_SQL = """
DROP INDEX members_tier_code;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
