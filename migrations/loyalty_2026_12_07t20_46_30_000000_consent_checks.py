"""The consent history's rules, which Piccolo cannot express: the channel and the source come
from fixed lists, an admin's change names the admin, and a member's history reads by member,
newest first."""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-12-07T20:46:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "member_consent_changes: checks and the member's history index"

SQL = """
ALTER TABLE member_consent_changes
    ADD CONSTRAINT member_consent_changes_channel_known
        CHECK (channel IN ('sms', 'email', 'push')),
    ADD CONSTRAINT member_consent_changes_source_known
        CHECK (source IN ('member_app', 'admin')),
    ADD CONSTRAINT member_consent_changes_admin_named
        CHECK (source <> 'admin' OR actor IS NOT NULL);
CREATE INDEX member_consent_changes_member_newest
    ON member_consent_changes (member_id, id DESC);
ALTER TABLE members
    ADD CONSTRAINT members_preferred_language_shape
        CHECK (preferred_language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$');
"""


async def forwards():  # noqa: ANN201 (Piccolo's migration signature)
    return sql_migration(ID, DESCRIPTION, SQL)
