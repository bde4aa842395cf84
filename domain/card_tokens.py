"""The rotating card code the member app shows as a QR code at the till.

Stateless by design: ``base32(member id | expiry | HMAC-SHA256(...)[:10])``, 48 characters of
A-Z2-7 (QR "alphanumeric" mode, a version-3 symbol). No row is written per code although every
open app asks for a new one each minute, and the till resolves it without a lookup table. The
80-bit tag makes forgery hopeless; the expiry inside it is covered by the tag, so a screenshot
is worthless a minute later. What it cannot do is die before its minute is up (a table row
could be deleted): 60 seconds was judged short enough not to need that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

CARD_TOKEN_TTL = timedelta(seconds=60)
_TAG_BYTES = 10
_LENGTH = 16 + 4 + _TAG_BYTES


@dataclass(frozen=True, slots=True)
class CardToken:
    token: str
    expires_at: datetime
    expires_in: int  # seconds


class CardTokenCodec:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the card token key needs at least 32 bytes")
        self._key = key

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, b"card-token:" + body, hashlib.sha256).digest()[:_TAG_BYTES]

    def issue(self, member_id: UUID, now: datetime) -> CardToken:
        # Whole seconds, rounded up: the code never lives shorter than its advertised minute.
        expires = math.ceil(now.timestamp()) + int(CARD_TOKEN_TTL.total_seconds())
        body = member_id.bytes + expires.to_bytes(4, "big")
        token = base64.b32encode(body + self._tag(body)).decode()
        return CardToken(
            token,
            datetime.fromtimestamp(expires, tz=now.tzinfo),
            int(CARD_TOKEN_TTL.total_seconds()),
        )

    def resolve(self, token: str, now: datetime) -> UUID | None:
        """The member the code names while it is valid; None if expired, forged or garbled."""
        try:
            raw = base64.b32decode(token.strip().upper(), casefold=False)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != _LENGTH:
            return None
        body, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(body)):
            return None
        if now.timestamp() >= int.from_bytes(body[16:], "big"):
            return None
        return UUID(bytes=body[:16])
