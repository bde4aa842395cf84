"""Indexes the points-liability report and the admin views need."""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T14:32:28:187116"
VERSION = "1.38.0"
DESCRIPTION = "indexes for ledger reports"

FORWARDS_SQL = """
CREATE INDEX points_entries_created_at ON points_entries (created_at);
CREATE INDEX points_lots_member ON points_lots (member_id);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
