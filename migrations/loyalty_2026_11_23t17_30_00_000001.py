"""Erased members: the phone column may hold a tombstone, and then nothing else identifies them.

The tombstone (``x`` and 15 hex digits, see domain/member_privacy.py) can never be an E.164
number, so no lookup by phone ever finds an erased member.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T17:30:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "erased members: phone tombstone, no personal data left"

FORWARDS_SQL = r"""
ALTER TABLE members
    DROP CONSTRAINT members_phone_e164,
    ADD CONSTRAINT members_phone_e164
        CHECK (phone ~ '^\+[1-9][0-9]{6,14}$' OR phone ~ '^x[0-9a-f]{15}$'),
    ADD CONSTRAINT members_erased_has_no_personal_data
        CHECK (phone !~ '^x' OR (name IS NULL AND email IS NULL AND birthday IS NULL));
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
