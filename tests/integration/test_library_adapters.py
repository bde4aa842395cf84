"""The adapters around third-party libraries: libphonenumber, email-validator and PyJWT.

No database: these pin down what the libraries, as configured here, accept and produce.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
import pytest

from adapters.contacts import LibraryContactNormaliser
from adapters.http.tokens import InvalidToken, TokenService
from app.principal import IssuedToken, Principal, Role
from domain.errors import InvalidEmail, InvalidPhoneNumber
from domain.staff import StaffRole

# Contacts --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contacts() -> LibraryContactNormaliser:
    return LibraryContactNormaliser("CN")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86-138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),  # full-width digits  # noqa: RUF001
        ("(010) 6552 9988", "+861065529988"),
        ("+44 7911 123456", "+447911123456"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phone_numbers_are_normalised_to_e164_with_china_as_default_region(
    contacts: LibraryContactNormaliser, raw: str, e164: str
) -> None:
    assert contacts.phone(raw) == e164


def test_the_default_region_decides_how_a_national_number_is_read() -> None:
    assert LibraryContactNormaliser("GB").phone("07911 123456") == "+447911123456"
    with pytest.raises(InvalidPhoneNumber):
        LibraryContactNormaliser("CN").phone("07911 123456")


@pytest.mark.parametrize(
    "raw",
    ["", "abc", "not a phone", "12345", "+86 123", "+86 138 0013 8000 1234", "+999 1234567"],
)
def test_garbage_and_invalid_phone_numbers_are_refused(
    contacts: LibraryContactNormaliser, raw: str
) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        contacts.phone(raw)

    assert caught.value.field == "phone"
    assert caught.value.code == "invalid_phone_number"


def test_phone_input_longer_than_32_characters_is_refused_before_parsing(
    contacts: LibraryContactNormaliser,
) -> None:
    assert contacts.phone("+8613800138000".ljust(32)) == "+8613800138000"

    with pytest.raises(InvalidPhoneNumber) as caught:
        contacts.phone("+8613800138000".ljust(33))

    assert caught.value.field == "phone"


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("li.lei@example.com", "li.lei@example.com"),
        ("Li.Lei@Example.COM", "Li.Lei@example.com"),  # the domain is case-insensitive
        ("user@BÜCHER.de", "user@bücher.de"),
    ],
)
def test_email_addresses_are_normalised(
    contacts: LibraryContactNormaliser, raw: str, normalised: str
) -> None:
    assert contacts.email(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    ["", "not-an-email", "a@b", "li@localhost", "a@@b.com", " li@example.com", "li@exa mple.com"],
)
def test_invalid_email_addresses_are_refused(contacts: LibraryContactNormaliser, raw: str) -> None:
    with pytest.raises(InvalidEmail) as caught:
        contacts.email(raw)

    assert caught.value.field == "email"
    assert caught.value.code == "invalid_email"


# Tokens ----------------------------------------------------------------------------------------

SECRET = "s3cret-for-tests-only-" + "0123456789abcdef" * 3  # 70 bytes: fine for HS512
ISSUER = "loyalty-test"
AUDIENCE = "loyalty-api-test"
TTL = {Role.ADMIN: 900, Role.POS: 3600, Role.MEMBER: 1800}
STORE_ID = UUID("5c7a4e1e-8f1e-4d55-9d59-0e4c7a1f0001")
TERMINAL_ID = UUID("5c7a4e1e-8f1e-4d55-9d59-0e4c7a1f0002")
MEMBER_ID = UUID("5c7a4e1e-8f1e-4d55-9d59-0e4c7a1f0003")


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def wall_clock_now() -> datetime:
    # PyJWT checks exp/nbf/iat against the wall clock, so "valid" tokens are issued near it.
    return datetime.now(UTC).replace(microsecond=0)


def service(
    now: datetime | None = None,
    *,
    secret: str = SECRET,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> TokenService:
    return TokenService(
        secret=secret,
        issuer=issuer,
        audience=audience,
        clock=FixedClock(now or wall_clock_now()),
        ttl_seconds=TTL,
    )


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def signed(claims: dict[str, Any], *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def valid_claims(now: datetime, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "role": "admin",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_an_admin_token_round_trips_with_the_admin_ttl() -> None:
    now = wall_clock_now()
    tokens = service(now)

    issued = tokens.issue_admin_token("alice")

    assert issued.expires_in == 900
    assert tokens.verify(issued.token) == Principal(Role.ADMIN, "alice", staff_role=StaffRole.OWNER)
    assert claims_of(issued.token) == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "role": "admin",
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(now.timestamp()) + 900,
        "staff_role": "owner",
    }


def test_a_pos_token_round_trips_with_its_store_and_terminal() -> None:
    tokens = service()

    issued = tokens.for_terminal(TERMINAL_ID, STORE_ID, 3)

    assert issued.expires_in == 3600
    assert tokens.verify(issued.token) == Principal(
        Role.POS,
        str(TERMINAL_ID),
        store_id=STORE_ID,
        terminal_id=TERMINAL_ID,
        credential_version=3,
    )
    claims = claims_of(issued.token)
    assert (claims["store_id"], claims["terminal_id"]) == (str(STORE_ID), str(TERMINAL_ID))
    assert claims["ver"] == 3  # the terminal's secret version: a rotation refuses the token


def test_a_member_token_round_trips_with_the_member_id() -> None:
    tokens = service()

    issued = tokens.issue_member_token(MEMBER_ID)

    assert issued.expires_in == 1800
    assert tokens.verify(issued.token) == Principal(
        Role.MEMBER, str(MEMBER_ID), member_id=MEMBER_ID
    )


def test_an_explicit_ttl_overrides_the_roles_default() -> None:
    now = wall_clock_now()

    issued = service(now).issue_admin_token("alice", ttl_seconds=60)

    assert issued == IssuedToken(issued.token, 60)
    assert claims_of(issued.token)["exp"] == int(now.timestamp()) + 60


def test_an_expired_token_is_refused() -> None:
    issued_at = wall_clock_now() - timedelta(seconds=900 + 60)
    token = service(issued_at).issue_admin_token("alice").token

    with pytest.raises(InvalidToken, match="expired"):
        service().verify(token)


def test_thirty_seconds_of_clock_skew_are_tolerated() -> None:
    just_expired = service(wall_clock_now() - timedelta(seconds=900 + 10))
    slightly_ahead = service(wall_clock_now() + timedelta(seconds=10))

    assert service().verify(just_expired.issue_admin_token("a").token).subject == "a"
    assert service().verify(slightly_ahead.issue_admin_token("b").token).subject == "b"


def test_a_token_that_is_not_yet_valid_is_refused() -> None:
    token = service(wall_clock_now() + timedelta(minutes=10)).issue_admin_token("alice").token

    with pytest.raises(InvalidToken, match="not yet valid"):
        service().verify(token)


@pytest.mark.parametrize(
    "other",
    [
        {"issuer": "someone-else"},
        {"audience": "another-api"},
        {"secret": "a-different-secret-of-the-same-length-00"},
    ],
    ids=["wrong-issuer", "wrong-audience", "wrong-secret"],
)
def test_a_token_from_another_issuer_audience_or_secret_is_refused(other: dict[str, str]) -> None:
    token = service(None, **other).issue_admin_token("alice").token

    with pytest.raises(InvalidToken):
        service().verify(token)


def test_an_unsigned_alg_none_token_is_refused() -> None:
    now = wall_clock_now()
    claims = valid_claims(now, iat=int(now.timestamp()), nbf=int(now.timestamp()))
    claims["exp"] = int(now.timestamp()) + 300
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."

    # The forged token is well formed: only the algorithm policy stands between it and access.
    assert jwt.decode(token, options={"verify_signature": False})["role"] == "admin"
    with pytest.raises(InvalidToken):
        service().verify(token)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_a_token_signed_with_another_algorithm_is_refused(algorithm: str) -> None:
    token = signed(valid_claims(wall_clock_now()), algorithm=algorithm)

    with pytest.raises(InvalidToken):
        service().verify(token)


def test_a_hand_made_token_with_the_right_secret_is_accepted() -> None:
    # The positive control for the hand-made tokens below.
    token = signed(valid_claims(wall_clock_now()))

    assert service().verify(token) == Principal(Role.ADMIN, "alice", staff_role=StaffRole.OWNER)


@pytest.mark.parametrize("role", ["superuser", "ADMIN", "", None])
def test_a_token_with_an_unknown_or_missing_role_is_refused(role: str | None) -> None:
    token = signed(valid_claims(wall_clock_now(), role=role))

    with pytest.raises(InvalidToken):
        service().verify(token)


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "iss", "aud", "sub"])
def test_a_token_missing_a_required_claim_is_refused(claim: str) -> None:
    claims = valid_claims(wall_clock_now())
    del claims[claim]

    with pytest.raises(InvalidToken):
        service().verify(signed(claims))


@pytest.mark.parametrize("missing", ["store_id", "terminal_id"])
def test_a_pos_token_without_its_store_or_terminal_is_refused(missing: str) -> None:
    claims = valid_claims(
        wall_clock_now(),
        role="pos",
        sub=str(TERMINAL_ID),
        store_id=str(STORE_ID),
        terminal_id=str(TERMINAL_ID),
    )
    assert service().verify(signed(claims)).store_id == STORE_ID  # complete: accepted
    del claims[missing]

    with pytest.raises(InvalidToken):
        service().verify(signed(claims))


def test_a_pos_token_with_a_malformed_store_id_is_refused() -> None:
    claims = valid_claims(
        wall_clock_now(), role="pos", sub="t", store_id="store-1", terminal_id=str(TERMINAL_ID)
    )

    with pytest.raises(InvalidToken):
        service().verify(signed(claims))


def test_a_member_token_whose_subject_is_not_a_uuid_is_refused() -> None:
    token = signed(valid_claims(wall_clock_now(), role="member", sub="member-42"))

    with pytest.raises(InvalidToken):
        service().verify(token)


def test_a_tampered_token_is_refused() -> None:
    token = service().issue_member_token(MEMBER_ID).token
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"

    with pytest.raises(InvalidToken):
        service().verify(f"{header}.{b64(claims)}.{signature}")


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "Bearer x.y.z"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        service().verify(garbage)


def test_token_validity_is_judged_by_the_services_own_clock() -> None:
    issued_at = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    clock = FixedClock(issued_at)
    tokens = TokenService(
        secret=SECRET, issuer=ISSUER, audience=AUDIENCE, clock=clock, ttl_seconds=TTL
    )

    token = tokens.issue_admin_token("alice").token

    # Seen from the service's own clock the token was issued a moment ago.
    assert tokens.verify(token) == Principal(Role.ADMIN, "alice", staff_role=StaffRole.OWNER)
