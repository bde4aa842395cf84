"""Stripe events, verified by Stripe's own library against the endpoint secrets.

Nothing here calls Stripe's API: every fact needed (amount received, running refunded total,
the disputed payment) is in the signed event itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import stripe

TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE  # 300: what construct_event applies


class StripeSignatureError(Exception):
    def __init__(self, detail: str, *, stale: bool = False) -> None:
        super().__init__(detail)
        self.code = "signature_expired" if stale else "signature_invalid"


def verify(payload: bytes, header: str | None, secrets: Sequence[str]) -> None:
    """Checks the signature against each secret (rotation); StripeSignatureError if none fits.

    ``stripe.WebhookSignature.verify_header`` checks the HMAC over the raw body and that the
    signature is at most five minutes old. The body is not parsed here: Stripe's library
    would parse it with ``json.loads`` (recursive, lenient); the caller decodes it strictly.
    """
    if not header:
        raise StripeSignatureError("the Stripe-Signature header is required")
    if not header.isascii():
        # compare_digest refuses non-ASCII text with a TypeError; no valid header has any.
        raise StripeSignatureError("Stripe-Signature must be ASCII")
    last: Exception | None = None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, TOLERANCE_SECONDS)
            return
        except UnicodeDecodeError:
            # The library signs the body's text: a body that is not UTF-8 has no signature.
            raise StripeSignatureError("the body is not UTF-8: no signature can match it") from None
        except stripe.SignatureVerificationError as error:
            last = error
            if "tolerance" in str(error):
                # The HMAC matched (the library checks the time after it): a replay or a
                # clock far off, not a forgery.
                raise StripeSignatureError(str(error), stale=True) from None
    raise StripeSignatureError(str(last) if last else "no endpoint secret is configured")
