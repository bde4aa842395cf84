"""Remembering verified tokens changes no answer: expiry, forgery and the bound still hold.

No database. TokenService remembers tokens it verified (PyJWT's checks cost more CPU than
the rest of a POS lookup); these pin down that a remembered token is still refused once it
expires, that a token differing by one character is verified on its own, and that the
memory is bounded without losing any answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from adapters.http import tokens as token_module
from adapters.http.tokens import InvalidToken, TokenService
from app.principal import Principal, Role
from domain.staff import StaffRole
from tests.integration.test_library_adapters import (
    AUDIENCE,
    ISSUER,
    SECRET,
    STORE_ID,
    TERMINAL_ID,
    TTL,
    wall_clock_now,
)


class MovingClock:
    def __init__(self, now: datetime) -> None:
        self.instant = now

    def now(self) -> datetime:
        return self.instant


def service(clock: MovingClock) -> TokenService:
    return TokenService(
        secret=SECRET, issuer=ISSUER, audience=AUDIENCE, clock=clock, ttl_seconds=TTL
    )


def test_a_token_used_again_and_again_expires_like_a_new_one() -> None:
    clock = MovingClock(wall_clock_now())
    tokens = service(clock)
    token = tokens.for_terminal(TERMINAL_ID, STORE_ID).token
    pos = Principal(
        Role.POS,
        str(TERMINAL_ID),
        store_id=STORE_ID,
        terminal_id=TERMINAL_ID,
        credential_version=1,
    )

    assert tokens.verify(token) == pos
    clock.instant += timedelta(seconds=3600 + 30)  # the last second of the leeway
    assert tokens.verify(token) == pos
    clock.instant += timedelta(seconds=1)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)


def test_a_remembered_token_is_not_valid_before_its_time_on_a_clock_set_back() -> None:
    clock = MovingClock(wall_clock_now())
    tokens = service(clock)
    token = tokens.issue_admin_token("alice").token
    assert tokens.verify(token) == Principal(Role.ADMIN, "alice", staff_role=StaffRole.OWNER)

    clock.instant -= timedelta(minutes=5)

    with pytest.raises(InvalidToken, match="not yet valid"):
        tokens.verify(token)


def test_a_verified_token_with_one_character_changed_is_refused() -> None:
    clock = MovingClock(wall_clock_now())
    tokens = service(clock)
    token = tokens.issue_member_token(TERMINAL_ID).token
    assert tokens.verify(token).member_id == TERMINAL_ID

    header, payload, signature = token.split(".")
    flipped = "A" if signature[5] != "A" else "B"
    for forged in (
        f"{header}.{payload}.{signature[:5]}{flipped}{signature[6:]}",
        f"{header}.{payload}x.{signature}",
        token + " ",
    ):
        with pytest.raises(InvalidToken):
            tokens.verify(forged)
    assert tokens.verify(token).member_id == TERMINAL_ID


def test_a_token_from_another_secret_is_refused_even_when_ours_was_seen() -> None:
    clock = MovingClock(wall_clock_now())
    ours = service(clock)
    other = TokenService(
        secret="another-secret-" + SECRET,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        ttl_seconds=TTL,
    )
    token = ours.issue_admin_token("alice").token
    assert ours.verify(token).subject == "alice"

    with pytest.raises(InvalidToken):
        other.verify(token)


def test_more_tokens_than_are_remembered_all_get_the_right_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(token_module, "VERIFIED_CACHE_SIZE", 4)
    clock = MovingClock(wall_clock_now())
    tokens = service(clock)
    short = [tokens.issue_admin_token(f"short-{n}", ttl_seconds=60).token for n in range(3)]
    long = [tokens.issue_admin_token(f"long-{n}").token for n in range(6)]

    for n, token in enumerate(short):
        assert tokens.verify(token).subject == f"short-{n}"
    clock.instant += timedelta(seconds=60 + 31)  # the short ones are over
    for _ in range(2):
        for n, token in enumerate(long):
            assert tokens.verify(token).subject == f"long-{n}"
            assert len(tokens._verified) <= 4  # the memory stays bounded
        for token in short:
            with pytest.raises(InvalidToken, match="expired"):
                tokens.verify(token)
