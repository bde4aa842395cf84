"""Indexes the points-liability report and the admin views need."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T14:32:28:187116"
VERSION = "1.38.0"
DESCRIPTION = "indexes for ledger reports"

FORWARDS_SQL = """
CREATE INDEX points_entries_created_at ON points_entries (created_at);
CREATE INDEX points_lots_member ON points_lots (member_id);
"""


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="loyalty", description=DESCRIPTION
    )

    async def run():
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(FORWARDS_SQL)

    manager.add_raw(run)

    return manager
