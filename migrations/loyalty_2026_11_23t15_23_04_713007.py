"""Qualifying spend (tier upgrades, reviews, simulation) read from the index alone.

The sum of payable - refunded_amount over a member's window is the hottest read of the tier
rules; carrying both amounts in the index lets PostgreSQL answer it with an index-only scan
instead of visiting every sale's heap page. It replaces sales_member_occurred.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T15:23:04:713007"
VERSION = "1.38.0"
DESCRIPTION = "covering index for qualifying spend"

FORWARDS_SQL = """
CREATE INDEX sales_member_spend ON sales (member_id, occurred_at)
    INCLUDE (payable, refunded_amount) WHERE member_id IS NOT NULL;
DROP INDEX sales_member_occurred;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
