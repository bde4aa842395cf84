from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T20:46:43:975578"
VERSION = "1.38.0"
DESCRIPTION = "program_settings.refunds_at_any_store: returns at any store of the retailer (issue 17, item 10)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="loyalty", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="ProgramSettingsRow",
        tablename="program_settings",
        column_name="refunds_at_any_store",
        db_column_name="refunds_at_any_store",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": True,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
