"""The web shop's `Shop-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The HMAC covers "<t>.<raw body>" with the shared secret, so neither the body nor the time can
be changed without the secret. Several secrets are accepted while one is being rotated, and
several `v1` values may be sent (the shop signing with old and new secret at once). A
signature older (or further in the future) than the tolerance is refused even if it is
right: a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from app.webhook_signatures import SignatureRefused

TOLERANCE_SECONDS = 300
SCHEME = "v1"
MAX_TIMESTAMP_DIGITS = 12  # int() of thousands of digits is a ValueError


class SignatureError(SignatureRefused):
    pass


class ShopSignatureVerifier:
    """The WebhookSignatures port (app.webhook_signatures) with the configured secrets."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self._secrets = tuple(secrets)

    def verify(self, header: str | None, body: bytes, *, now: float) -> None:
        verify(header, body, self._secrets, now=now)


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The header value the shop sends for ``body`` at ``timestamp``."""
    return f"t={timestamp},{SCHEME}={_mac(body, secret, timestamp)}"


def verify(
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    *,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """Checks the header against the raw body; returns the signed timestamp."""
    if not header:
        raise SignatureError("signature_missing", "the Shop-Signature header is required")
    if not header.isascii():
        # compare_digest refuses non-ASCII text with a TypeError; no valid header has any.
        raise SignatureError("signature_invalid", "Shop-Signature must be ASCII")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= MAX_TIMESTAMP_DIGITS:
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        raise SignatureError(
            "signature_invalid", "Shop-Signature must be 't=<unix seconds>,v1=<hex HMAC>'"
        )
    expected = [_mac(body, secret, timestamp) for secret in secrets]
    # Every pair is compared in constant time, and all of them are compared.
    matched = False
    for mac in expected:
        for candidate in candidates:
            matched |= hmac.compare_digest(mac, candidate)
    if not matched:
        raise SignatureError("signature_invalid", "the signature does not match the body")
    if abs(now - timestamp) > tolerance:
        raise SignatureError(
            "signature_expired",
            f"the signature is more than {tolerance} seconds away from the server's time",
        )
    return timestamp


def _mac(body: bytes, secret: str, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
