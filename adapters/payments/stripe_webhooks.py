"""Stripe events, verified by Stripe's own library against the endpoint secrets.

Nothing here calls Stripe's API: every fact needed (amount received, running refunded total,
the disputed payment) is in the signed event itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import stripe


class StripeSignatureError(Exception):
    def __init__(self, detail: str, *, stale: bool = False) -> None:
        super().__init__(detail)
        self.code = "signature_expired" if stale else "signature_invalid"


def construct_event(payload: bytes, header: str | None, secrets: Sequence[str]) -> Any:
    """The verified event; tries each secret (rotation); StripeSignatureError if none fits.

    ``stripe.Webhook.construct_event`` checks the HMAC over the raw body and that the
    signature is at most five minutes old. A body that is not JSON raises ValueError.
    """
    if not header:
        raise StripeSignatureError("the Stripe-Signature header is required")
    last: Exception | None = None
    for secret in secrets:
        try:
            return stripe.Webhook.construct_event(payload, header, secret)
        except stripe.SignatureVerificationError as error:
            last = error
            if "tolerance" in str(error):
                # The HMAC matched (the library checks the time after it): a replay or a
                # clock far off, not a forgery.
                raise StripeSignatureError(str(error), stale=True) from None
    raise StripeSignatureError(str(last) if last else "no endpoint secret is configured")
