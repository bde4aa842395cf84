"""Outbound webhooks without a database: Standard Webhooks signatures (checked by the spec's
own library), the retry schedule, and which addresses a delivery may reach."""

from __future__ import annotations

import ipaddress
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from adapters.webhook_sender import HttpxWebhookSender
from domain.outbound_webhooks import (
    RETRY_FOR,
    InvalidWebhookEndpoint,
    check_event_types,
    check_url,
    new_secret,
    next_attempt,
    refused_address,
    retry_wait,
    signed_headers,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
SECRET = new_secret(bytes(range(32)))
OTHER = new_secret(bytes(range(1, 33)))
BODY = json.dumps({"type": "points.earned", "data": {"points": 10}}).encode()


def test_a_signature_verifies_with_the_standard_webhooks_library() -> None:
    now = int(datetime.now(UTC).timestamp())
    headers = signed_headers([SECRET], "msg_1", now, BODY)
    assert Webhook(SECRET).verify(BODY, headers) == {
        "type": "points.earned",
        "data": {"points": 10},
    }


def test_a_tampered_body_or_another_secret_fails_verification() -> None:
    now = int(datetime.now(UTC).timestamp())
    headers = signed_headers([SECRET], "msg_1", now, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(BODY, headers)


def test_during_an_overlap_either_secret_verifies() -> None:
    now = int(datetime.now(UTC).timestamp())
    headers = signed_headers([OTHER, SECRET], "msg_2", now, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert all(s.startswith("v1,") for s in headers["webhook-signature"].split(" "))
    Webhook(SECRET).verify(BODY, headers)
    Webhook(OTHER).verify(BODY, headers)


def test_retries_double_from_30_seconds_up_to_12_hours() -> None:
    waits = [retry_wait(n) for n in range(1, 15)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert all(b >= a for a, b in itertools.pairwise(waits))
    assert max(waits) == timedelta(hours=12)
    assert retry_wait(100) == timedelta(hours=12)


def test_a_delivery_is_retried_for_three_days_then_given_up() -> None:
    when, attempts = NOW, 0
    while True:
        attempts += 1
        following = next_attempt(NOW, attempts, when)
        if following is None:
            break
        when = following
    assert when <= NOW + RETRY_FOR
    assert when > NOW + RETRY_FOR - timedelta(hours=12)  # it used most of the three days
    assert 10 <= attempts <= 20


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12::1", "private"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.64.0.1", "not a public"),
        ("0.0.0.0", "private"),
        ("224.0.0.1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str, why: str) -> None:
    reason = refused_address(ipaddress.ip_address(address))
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://example.com",
        "https://user:pw@example.com/",
        "https:///nohost",
        "https://example.com/#frag",
        "https://example.com:99999/",
    ],
)
def test_only_plain_http_and_https_urls_are_registered(url: str) -> None:
    with pytest.raises(InvalidWebhookEndpoint):
        check_url(url)


def test_event_types_must_be_known() -> None:
    assert [t.value for t in check_event_types(["points.earned", "member.enrolled"])] == [
        "member.enrolled",
        "points.earned",
    ]
    with pytest.raises(InvalidWebhookEndpoint):
        check_event_types(["points.stolen"])
    with pytest.raises(InvalidWebhookEndpoint):
        check_event_types([])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
    ],
)
async def test_the_sender_refuses_a_target_that_resolves_to_a_forbidden_address(url: str) -> None:
    result = await HttpxWebhookSender().post(url, b"{}", {})
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith("refused:")


async def test_the_sender_refuses_other_schemes() -> None:
    result = await HttpxWebhookSender(allow_private=True).post("ftp://127.0.0.1/x", b"{}", {})
    assert result.status is None
    assert result.error is not None
    assert "only http and https" in result.error
