"""Whose address a per-IP limit counts, as a served process sees it over real TCP.

The ASGI server has its own idea of forwarded headers (uvicorn believes X-Forwarded-For from
127.0.0.1 unless told not to); only LOYALTY_TRUSTED_PROXIES may make the service believe them.
"""

from __future__ import annotations

import os

import httpx

from tests.e2e.conftest import serving

PER_IP = 3


def login_env(db_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_LOGIN_CODES_PER_IP": f"{PER_IP}/3600",
        **extra,
    }


def ask_codes(base: str, forwarded_for: list[str]) -> list[int]:
    """One login code per claimed client, each for another phone (the per-phone limit must not
    be what refuses them)."""
    statuses = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for n, claimed in enumerate(forwarded_for):
            answer = http.post(
                "/v1/auth/otp",
                json={"phone": f"+86138001{n:05d}"},
                headers={"X-Forwarded-For": claimed},
            )
            statuses.append(answer.status_code)
    return statuses


def test_without_trusted_proxies_a_forwarded_header_from_loopback_is_not_believed(
    clean_db: str,
) -> None:
    claims = [f"203.0.113.{n}" for n in range(1, 11)]

    with serving(login_env(clean_db), "--migrate") as base:
        statuses = ask_codes(base, claims)

    # Ten "clients" from one TCP peer are one client: its limit bites after PER_IP codes.
    assert statuses == [202] * PER_IP + [429] * (len(claims) - PER_IP)


def test_a_trusted_proxy_makes_the_forwarded_client_the_one_counted(clean_db: str) -> None:
    env = login_env(clean_db, LOYALTY_TRUSTED_PROXIES="127.0.0.1")

    with serving(env, "--migrate") as base:
        distinct = ask_codes(base, [f"203.0.113.{n}" for n in range(1, 11)])
        one_client = ask_codes(base, ["198.51.100.9"] * (PER_IP + 2))

    assert distinct == [202] * 10
    assert one_client == [202] * PER_IP + [429, 429]
