"""Opaque list cursors for lists keyed by a UUID (the row the next page starts after)."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from domain.errors import InvalidInput


def encode_after(last: UUID | None) -> str | None:
    if last is None:
        return None
    return base64.urlsafe_b64encode(b"u" + last.bytes).decode().rstrip("=")


def decode_after(cursor: str | None) -> UUID | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if raw[:1] != b"u" or len(raw) != 17:
            raise ValueError(raw)
        return UUID(bytes=raw[1:])
    except (ValueError, binascii.Error):
        raise InvalidInput("the cursor is not one this API gave out", field="cursor") from None


def next_cursor(ids: list[UUID], limit: int) -> str | None:
    """A cursor after the last item when the page is full (there may be more)."""
    return encode_after(ids[-1]) if len(ids) == limit and ids else None
