"""Forged client addresses (issue #16 item 4), against a served process.

Per-address rate limits count the TCP peer unless the peer is a proxy listed in
LOYALTY_TRUSTED_PROXIES. The fuzzer forges X-Forwarded-For (and Forwarded, X-Real-IP) with
addresses hypothesis draws, one new address per request, from a loopback peer with no proxy
trusted: if the service believed any of them, each forged address would get its own login-code
counter and more requests would pass than the limit allows. The control run trusts loopback as
a proxy, where the same forgeries must be believed: it shows that the probe can tell.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import given, seed
from hypothesis import strategies as st

from tests.e2e.conftest import serving
from tests.e2e.fuzz.contract import operation
from tests.e2e.fuzz.findings import Finding, Findings, Sent
from tests.e2e.fuzz.seed import EXAMPLES, seed_of, settings_for
from tests.e2e.fuzz.wire import Answer

pytestmark = pytest.mark.fuzz

LIMIT = 3  # login-code requests per client address per hour in these served processes
OTP = operation("POST /v1/auth/otp")


def serve(db_url: str, **extra: str) -> Iterator[str]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_LOGIN_CODES_PER_IP": f"{LIMIT}/3600",
        "LOYALTY_LOGIN_CODES_PER_PHONE": "1000/3600",
        **extra,
    }
    with serving(env) as base:
        yield base


@pytest.fixture
def untrusting(clean_db: str) -> Iterator[str]:
    yield from serve(clean_db)


@pytest.fixture
def trusting_loopback(clean_db: str) -> Iterator[str]:
    yield from serve(clean_db, LOYALTY_TRUSTED_PROXIES="127.0.0.1/32,::1/128")


Forge = Callable[[str], dict[str, str]]
addresses = st.ip_addresses().map(str).filter(lambda a: not a.startswith(("127.", "::1")))
X_FORWARDED_FOR: list[Forge] = [
    lambda a: {"X-Forwarded-For": a},
    lambda a: {"X-Forwarded-For": f"{a}, 127.0.0.1"},
    lambda a: {"X-Forwarded-For": f"198.51.100.7, {a}"},
]
OTHER_FORMS: list[Forge] = [
    lambda a: {"Forwarded": f'for="{a}"'},
    lambda a: {"X-Real-IP": a},
]


def ask_for_codes(
    base: str, draw: st.DataObject, count: int, forms: list[Forge]
) -> list[tuple[Sent, Answer]]:
    answers = []
    # Distinct addresses: one forged address per request, as an attacker rotating them.
    forged = draw.draw(
        st.lists(addresses, min_size=count, max_size=count, unique=True), label="addresses"
    )
    with httpx.Client(base_url=base, timeout=30) as http:
        for address in forged:
            headers = draw.draw(st.sampled_from(forms), label="header")(address)
            body = {"phone": f"+86139{uuid.uuid4().int % 10**8:08d}"}
            response = http.post("/v1/auth/otp", json=body, headers=headers)
            sent = Sent("POST", "/v1/auth/otp", "", headers, str(body).encode())
            answers.append((sent, Answer(response.status_code, response.headers, response.content)))
    return answers


def test_forwarded_headers_from_an_untrusted_peer_are_not_believed(untrusting: str) -> None:
    findings = Findings()
    accepted: list[tuple[Sent, Answer]] = []

    @settings_for(EXAMPLES)
    @seed(seed_of("client_address"))
    @given(st.data())
    def forge(data: st.DataObject) -> None:
        forms = X_FORWARDED_FOR + OTHER_FORMS
        for sent, answer in ask_for_codes(untrusting, data, LIMIT + 2, forms):
            if answer.status == 202:
                accepted.append((sent, answer))

    forge()

    if len(accepted) > LIMIT:
        sent, answer = accepted[LIMIT]
        findings.add(
            Finding(
                "client_address",
                OTP.name,
                answer.status,
                f"forwarded headers from an untrusted peer were believed: {len(accepted)} "
                f"login codes passed a per-address limit of {LIMIT}",
                sent,
                answer.show(),
            )
        )
    assert not findings, findings.report("forged client addresses")


def test_the_probe_sees_forwarded_headers_believed_from_a_trusted_proxy(
    trusting_loopback: str,
) -> None:
    accepted = 0

    @settings_for(1)
    @seed(seed_of("client_address_control"))
    @given(st.data())
    def forge(data: st.DataObject) -> None:
        nonlocal accepted
        answers = ask_for_codes(trusting_loopback, data, LIMIT + 2, X_FORWARDED_FOR)
        accepted += sum(1 for _, a in answers if a.status == 202)

    forge()

    assert accepted > LIMIT
