"""Indexes for GET /v1/admin/audit-log: each filter (actor, action, subject) with the list's
order (id, newest first), so a filtered page reads only its rows. The subject index uses
varchar_pattern_ops so that `entity=member` (subject = 'member' OR LIKE 'member:%') is a
range scan in any collation. The period uses audit_log_at from the baseline."""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-12-07T21:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "audit_log: indexes for the audit-log filters"

SQL = """
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_subject ON audit_log (subject varchar_pattern_ops, id);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
