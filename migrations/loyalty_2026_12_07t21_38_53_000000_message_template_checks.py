"""One override per kind and language, in a language messages are written in."""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-12-07T21:38:53:000000"
DESCRIPTION = "Message templates: key names kind and language; supported languages only"

SQL = """
ALTER TABLE message_templates
    ADD CONSTRAINT message_templates_key CHECK (key = kind || '.' || language),
    ADD CONSTRAINT message_templates_language CHECK (language IN ('zh-CN', 'en')),
    ADD CONSTRAINT message_templates_body_length CHECK (char_length(body) BETWEEN 1 AND 2000);
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, DESCRIPTION, SQL)
