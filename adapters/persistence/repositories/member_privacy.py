"""A member's personal data on PostgreSQL: export every row that names them, erase in place.

The export finds its tables in the catalogue (every table with a ``member_id`` column, plus
the member's own row), so a table added later is exported without anyone remembering to list
it here. Columns that hold secrets (hashes of tokens or codes) are withheld: they identify
nobody and must not leave the service.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.persistence.tables import MemberRow
from domain.member_privacy import ERASED_TEXT, TOMBSTONE_PREFIX, ExportedRows, is_erased_phone


def not_erased(phone: str) -> str:
    """A SQL condition, true unless the phone column ``phone`` holds an erasure's tombstone
    (domain.member_privacy; a member imported without a phone is not erased). For the jobs'
    set-based statements, which must do nothing more for an erased member."""
    return f"({phone} IS NULL OR NOT starts_with({phone}, '{TOMBSTONE_PREFIX}'))"


_WITHHELD_COLUMN = re.compile(r"secret|token|password|code_hash|otp")

_MEMBER_TABLES = """
SELECT c.table_name, array_agg(c.column_name::text ORDER BY c.ordinal_position) AS columns
FROM information_schema.columns c
JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
  AND c.table_name IN (
      SELECT table_name FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name = 'member_id'
  )
GROUP BY c.table_name
ORDER BY c.table_name
"""

# Each statement changes what identifies a person and returns one row per row changed.
_ERASE: dict[str, str] = {
    "members": """
        UPDATE members SET phone = {}, name = NULL, email = NULL, birthday = NULL,
                           preferred_language = NULL, consent_sms = false,
                           consent_email = false, consent_push = false
        WHERE id = {} AND (phone <> {} OR name IS NOT NULL OR email IS NOT NULL
                           OR birthday IS NOT NULL OR preferred_language IS NOT NULL
                           OR consent_sms OR consent_email OR consent_push)
        RETURNING 1""",
    # The consent history stays: it is the record of what the member agreed to, and names
    # them only by the member id, as the ledger does.
    # The shop's customer id names the person in another system: the link goes.
    "shop_customers": "DELETE FROM shop_customers WHERE member_id = {} RETURNING 1",
    # Ids in other systems (imported customer files) name the person elsewhere.
    "member_external_ids": "DELETE FROM member_external_ids WHERE member_id = {} RETURNING 1",
    # What the member said on a follow-up call is theirs; the call and its rating stay.
    "follow_ups": """
        UPDATE follow_ups SET outcome = NULL
        WHERE member_id = {} AND outcome IS NOT NULL
        RETURNING 1""",
    # A call not made yet never will be: nobody is left to call.
    "follow_ups_pending": """
        DELETE FROM follow_ups WHERE member_id = {} AND status = 'pending' RETURNING 1""",
    # Sessions end: the refresh tokens go (a revoked row would keep nothing worth keeping).
    # Their access tokens are refused from now on by app.use_cases.erased_members.
    "refresh_tokens": "DELETE FROM refresh_tokens WHERE member_id = {} RETURNING 1",
    # Notifications keep their kind and times (what was sent when); recipient and content go,
    # and what was still to be sent never will be.
    "outbox": """
        UPDATE outbox
        SET phone = NULL, payload = jsonb_build_object(),
            dead_at = CASE WHEN delivered_at IS NULL AND dead_at IS NULL THEN {} ELSE dead_at END
        WHERE member_id = {} AND (phone IS NOT NULL OR payload <> jsonb_build_object())
        RETURNING 1""",
    # Rows that know the member only by phone (a login code asked for before enrolling).
    "outbox_by_phone": "DELETE FROM outbox WHERE member_id IS NULL AND phone = {} RETURNING 1",
    "login_challenges": "DELETE FROM login_challenges WHERE phone = {} RETURNING 1",
    "rate_limit_counters": (
        "DELETE FROM rate_limit_counters WHERE strpos(key, {}) > 0 RETURNING 1"
    ),
    # {erased text} {now} {member_id} {erased text}
    "feedback": """
        UPDATE feedback
        SET text = {}, order_ref = NULL, admin_note = NULL, updated_at = {}
        WHERE member_id = {}
          AND (text <> {} OR order_ref IS NOT NULL OR admin_note IS NOT NULL)
        RETURNING 1""",
}


def _plain(value: Any) -> object:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _rows(rows: list[dict[str, Any]]) -> ExportedRows:
    return [
        {k: _plain(v) for k, v in row.items() if not _WITHHELD_COLUMN.search(k)} for row in rows
    ]


def _sort_key(columns: list[str]) -> str:
    for name in ("seq", "created_at", "id"):
        if name in columns:
            return f'"{name}"'
    return "1"


class PostgresMemberPrivacyRepository:
    async def export(self, member_id: UUID) -> dict[str, ExportedRows]:
        member = await MemberRow.raw("SELECT * FROM members WHERE id = {}", member_id)
        if not member:
            return {}
        tables: dict[str, ExportedRows] = {"members": _rows(member)}
        for table in await MemberRow.raw(_MEMBER_TABLES):
            name = table["table_name"]
            # Names come from the catalogue, not from a caller; quoted all the same.
            rows = await MemberRow.raw(
                f'SELECT * FROM "{name}" WHERE member_id = {{}} '  # noqa: S608
                f"ORDER BY {_sort_key(table['columns'])}",
                member_id,
            )
            tables[name] = _rows(rows)
        phone = member[0]["phone"]
        tables["login_challenges"] = _rows(
            await MemberRow.raw("SELECT * FROM login_challenges WHERE phone = {}", phone)
        )
        tables["outbox"] = tables.get("outbox", []) + _rows(
            await MemberRow.raw(
                "SELECT * FROM outbox WHERE member_id IS NULL AND phone = {} ORDER BY id", phone
            )
        )
        return tables

    async def erase(self, member_id: UUID, *, tombstone: str, at: datetime) -> dict[str, int]:
        rows = await MemberRow.raw("SELECT phone FROM members WHERE id = {}", member_id)
        phone = rows[0]["phone"] if rows else tombstone
        by_phone = 0
        if phone is not None and not is_erased_phone(phone):
            for statement in ("outbox_by_phone", "login_challenges", "rate_limit_counters"):
                by_phone += len(await MemberRow.raw(_ERASE[statement], phone))
        changed = {
            "members": len(await MemberRow.raw(_ERASE["members"], tombstone, member_id, tombstone)),
            "shop_customers": len(await MemberRow.raw(_ERASE["shop_customers"], member_id)),
            "feedback": len(
                await MemberRow.raw(_ERASE["feedback"], ERASED_TEXT, at, member_id, ERASED_TEXT)
            ),
            "refresh_tokens": len(await MemberRow.raw(_ERASE["refresh_tokens"], member_id)),
            "outbox": len(await MemberRow.raw(_ERASE["outbox"], at, member_id)),
            "member_external_ids": len(
                await MemberRow.raw(_ERASE["member_external_ids"], member_id)
            ),
            "follow_ups": len(await MemberRow.raw(_ERASE["follow_ups"], member_id))
            + len(await MemberRow.raw(_ERASE["follow_ups_pending"], member_id)),
            "by_phone": by_phone,
        }
        return changed
