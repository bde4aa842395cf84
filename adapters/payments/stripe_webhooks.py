"""Stripe events, verified by Stripe's own library against the endpoint secrets.

Nothing here calls Stripe's API: every fact needed (amount received, running refunded total,
the disputed payment) is in the signed event itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import stripe

from app.webhook_signatures import SignatureRefused

# The same promise as the shop's signature: five minutes either way of the server's clock.
TOLERANCE_SECONDS = 300


class StripeSignatureError(SignatureRefused):
    def __init__(self, detail: str, *, stale: bool = False) -> None:
        super().__init__("signature_expired" if stale else "signature_invalid", detail)


class StripeEventVerifier:
    """The StripeEvents port (app.webhooks) with the configured endpoint secrets."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self._secrets = tuple(secrets)

    def verified(self, body: bytes, header: str | None, *, now: float) -> Any:
        return construct_event(body, header, self._secrets, now=now)


def construct_event(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> Any:
    """The verified event; tries each secret (rotation); StripeSignatureError if none fits.

    ``stripe.Webhook.construct_event`` checks the HMAC over the raw body, but of the time only
    that the signature is not too old: one dated a year ahead would pass, and a captured
    request could then be replayed for a year. So the library's own time check is off and the
    signed time must be within ``tolerance`` of ``now`` either way, as the shop's signature
    (adapters/webshop/signature.py). The HMAC is checked first: a forgery is never "expired".
    A body that is not JSON raises ValueError.
    """
    if not header:
        raise StripeSignatureError("the Stripe-Signature header is required")
    last: Exception | None = None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=None)
        except stripe.SignatureVerificationError as error:
            last = error
            continue
        if abs(now - _signed_at(header)) > tolerance:
            # The HMAC matched: a replay or a clock far off, not a forgery.
            raise StripeSignatureError(
                f"the signature is more than {tolerance} seconds away from the server's time",
                stale=True,
            )
        # Verified just above; a falsy tolerance skips the library's one-sided time check.
        return stripe.Webhook.construct_event(payload, header, secret, tolerance=0)
    raise StripeSignatureError(str(last) if last else "no endpoint secret is configured")


def _signed_at(header: str) -> int:
    """The ``t`` of a header the library has just verified, read the way the library reads it
    (the first ``t=`` item), so that it is the very time the HMAC covered."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))
