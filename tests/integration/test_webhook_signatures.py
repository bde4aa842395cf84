"""The web shop's signature scheme and Stripe's verification, with rotated secrets."""

from __future__ import annotations

import time

import pytest

from adapters.payments.stripe_webhooks import StripeSignatureError
from adapters.payments.stripe_webhooks import verify as verify_stripe
from adapters.webshop.signature import SignatureError, sign, verify
from tests.support.webhooks import payment_intent, stripe_event, stripe_headers

BODY = b'{"id":"evt_1","type":"order.completed","data":{"order_id":"O1"}}'
NOW = 1_795_000_000


def test_a_signature_with_the_shared_secret_verifies() -> None:
    assert verify(sign(BODY, "s3cret", NOW), BODY, ["s3cret"], now=NOW) == NOW


def test_during_rotation_either_secret_is_accepted() -> None:
    secrets = ["new-secret", "old-secret"]

    assert verify(sign(BODY, "old-secret", NOW), BODY, secrets, now=NOW) == NOW
    assert verify(sign(BODY, "new-secret", NOW), BODY, secrets, now=NOW) == NOW
    with pytest.raises(SignatureError):
        verify(sign(BODY, "retired-secret", NOW), BODY, secrets, now=NOW)


def test_a_header_carrying_old_and_new_signatures_verifies_with_either_secret() -> None:
    new = sign(BODY, "new-secret", NOW).split(",")[1]
    header = f"{sign(BODY, 'old-secret', NOW)},{new}"

    assert verify(header, BODY, ["new-secret"], now=NOW) == NOW


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "signature_missing"),
        ("", "signature_missing"),
        ("v1=abc", "signature_invalid"),
        (f"t={NOW}", "signature_invalid"),
        (f"t={NOW},v1=" + "0" * 64, "signature_invalid"),
        (f"t=abc,v1={'0' * 64}", "signature_invalid"),
    ],
)
def test_missing_malformed_or_wrong_signatures_are_refused(header: str | None, code: str) -> None:
    with pytest.raises(SignatureError) as refused:
        verify(header, BODY, ["s3cret"], now=NOW)
    assert refused.value.code == code


def test_a_signature_five_minutes_old_passes_and_one_second_more_does_not() -> None:
    header = sign(BODY, "s3cret", NOW)

    assert verify(header, BODY, ["s3cret"], now=NOW + 300) == NOW
    with pytest.raises(SignatureError) as stale:
        verify(header, BODY, ["s3cret"], now=NOW + 301)
    with pytest.raises(SignatureError) as future:
        verify(header, BODY, ["s3cret"], now=NOW - 301)
    assert (stale.value.code, future.value.code) == ("signature_expired", "signature_expired")


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    mac = sign(BODY, "s3cret", NOW).split(",")[1]

    with pytest.raises(SignatureError):
        verify(f"t={NOW + 10},{mac}", BODY, ["s3cret"], now=NOW)


def test_stripe_events_verify_with_any_endpoint_secret_during_rotation() -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent("pi_1", 100))
    header = stripe_headers(body, secret="whsec_old")["Stripe-Signature"]

    verify_stripe(body, header, ["whsec_new", "whsec_old"], now=time.time())

    with pytest.raises(StripeSignatureError):
        verify_stripe(body, header, ["whsec_new"], now=time.time())


def test_a_stale_stripe_signature_is_refused() -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent("pi_1", 100))
    header = stripe_headers(body, timestamp=int(time.time()) - 301)["Stripe-Signature"]

    with pytest.raises(StripeSignatureError) as stale:
        verify_stripe(body, header, ["whsec_dev_only_stripe_webhook_secret"], now=time.time())
    assert stale.value.code == "signature_expired"


def test_a_stripe_signature_is_good_five_minutes_either_way_and_not_a_second_more() -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent("pi_1", 100))
    header = stripe_headers(body, timestamp=NOW)["Stripe-Signature"]
    secrets = ["whsec_dev_only_stripe_webhook_secret"]

    for now in (NOW - 300, NOW + 300):
        verify_stripe(body, header, secrets, now=now)
    for now in (NOW - 301, NOW + 301, NOW - 365 * 86400):
        with pytest.raises(StripeSignatureError) as refused:
            verify_stripe(body, header, secrets, now=now)
        assert refused.value.code == "signature_expired"


def test_a_forged_stripe_signature_dated_ahead_is_invalid_not_expired() -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent("pi_1", 100))
    header = stripe_headers(body, secret="whsec_forger", timestamp=NOW + 3600)["Stripe-Signature"]

    with pytest.raises(StripeSignatureError) as refused:
        verify_stripe(body, header, ["whsec_dev_only_stripe_webhook_secret"], now=NOW)
    assert refused.value.code == "signature_invalid"
