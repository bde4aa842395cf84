"""The ledger's hash chain, recomputed in Python independently of the database trigger.

Canonical text: each field as ``<length>:<value>``, joined by ``|``; timestamps in UTC as
``YYYY-MM-DDTHH:MM:SS.ffffff``; the previous hash in hex (empty for a member's first entry).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID


def _instant(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") if value else ""


def _field(value: str | None) -> str:
    text = value or ""
    return f"{len(text)}:{text}"


def entry_hash(
    *,
    member_id: UUID,
    seq: int,
    entry_type: str,
    points: int,
    reference: str,
    posting_key: str,
    created_at: datetime,
    expires_at: datetime | None,
    actor: str | None,
    reason: str | None,
    prev_hash: bytes,
) -> bytes:
    fields = [
        str(member_id),
        str(seq),
        entry_type,
        str(points),
        reference,
        posting_key,
        _instant(created_at),
        _instant(expires_at),
        actor,
        reason,
        prev_hash.hex(),
    ]
    return hashlib.sha256("|".join(_field(f) for f in fields).encode()).digest()


def hash_of_row(row: dict[str, Any]) -> bytes:
    return entry_hash(
        member_id=row["member_id"],
        seq=row["seq"],
        entry_type=row["entry_type"],
        points=row["points"],
        reference=row["reference"],
        posting_key=row["posting_key"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        actor=row["actor"],
        reason=row["reason"],
        prev_hash=bytes(row["prev_hash"]),
    )


def batch_hasher(
    *, entry_type: str, reference: str, created_at: datetime
) -> Callable[[UUID, int, int, str, datetime | None, bytes], bytes]:
    """``entry_hash`` for many entries that share their type, reference and time, and have no
    actor or reason (the expiry job's): the shared fields, and each member's id and expiry
    instant, are written once rather than once per entry. Same bytes as ``entry_hash``."""
    shared_head = f"{_field(entry_type)}"
    shared_middle = f"{_field(reference)}"
    created = _field(_instant(created_at))
    members: dict[UUID, str] = {}
    instants: dict[datetime | None, str] = {}

    def hash_entry(
        member_id: UUID,
        seq: int,
        points: int,
        posting_key: str,
        expires_at: datetime | None,
        prev_hash: bytes,
    ) -> bytes:
        member = members.get(member_id)
        if member is None:
            member = members[member_id] = _field(str(member_id))
        expiry = instants.get(expires_at)
        if expiry is None:
            expiry = instants[expires_at] = _field(_instant(expires_at))
        seq_text, points_text, previous = str(seq), str(points), prev_hash.hex()
        text = (
            f"{member}|{len(seq_text)}:{seq_text}|{shared_head}|{len(points_text)}:{points_text}"
            f"|{shared_middle}|{len(posting_key)}:{posting_key}|{created}|{expiry}|0:|0:"
            f"|{len(previous)}:{previous}"
        )
        return hashlib.sha256(text.encode()).digest()

    return hash_entry
