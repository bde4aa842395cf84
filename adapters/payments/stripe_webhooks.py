"""Stripe events, verified by Stripe's own library against the endpoint secrets.

Nothing here calls Stripe's API: every fact needed (amount received, running refunded total,
the disputed payment) is in the signed event itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import stripe

from app.webhook_signatures import SignatureRefused

# The same promise as the shop's signature: five minutes either way of the server's clock.
TOLERANCE_SECONDS = 300


class StripeSignatureError(SignatureRefused):
    def __init__(self, detail: str, *, stale: bool = False) -> None:
        super().__init__("signature_expired" if stale else "signature_invalid", detail)


class StripeSignatureVerifier:
    """The WebhookSignatures port (app.webhook_signatures) with the endpoint secrets."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self._secrets = tuple(secrets)

    def verify(self, header: str | None, body: bytes, *, now: float) -> None:
        verify(body, header, self._secrets, now=now)


def verify(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Checks the signature against each secret (rotation); StripeSignatureError if none fits.

    ``stripe.WebhookSignature.verify_header`` checks the HMAC over the raw body, but of the
    time only that the signature is not too old: one dated a year ahead would pass, and a
    captured request could then be replayed for a year. So the library's own time check is off
    and the signed time must be within ``tolerance`` of ``now`` either way, as the shop's
    signature (adapters/webshop/signature.py). The HMAC is checked first: a forgery is never
    "expired". The body is not parsed here: Stripe's library would parse it with
    ``json.loads`` (recursive, lenient); the caller decodes it strictly.
    """
    if not header:
        raise StripeSignatureError("the Stripe-Signature header is required")
    if not header.isascii():
        # compare_digest refuses non-ASCII text with a TypeError; no valid header has any.
        raise StripeSignatureError("Stripe-Signature must be ASCII")
    last: Exception | None = None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=None)
        except UnicodeDecodeError:
            # The library signs the body's text: a body that is not UTF-8 has no signature.
            raise StripeSignatureError("the body is not UTF-8: no signature can match it") from None
        except stripe.SignatureVerificationError as error:
            last = error
            continue
        if abs(now - _signed_at(header)) > tolerance:
            # The HMAC matched: a replay or a clock far off, not a forgery.
            raise StripeSignatureError(
                f"the signature is more than {tolerance} seconds away from the server's time",
                stale=True,
            )
        return
    raise StripeSignatureError(str(last) if last else "no endpoint secret is configured")


def _signed_at(header: str) -> int:
    """The ``t`` of a header the library has just verified, read the way the library reads it
    (the first ``t=`` item), so that it is the very time the HMAC covered."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))
