"""The rotating card code: valid for its minute, unforgeable, short enough for a QR code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.card_tokens import CARD_TOKEN_TTL, CardTokenCodec

MEMBER = UUID("6f1c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f")
NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)
CODEC = CardTokenCodec(b"c" * 32)


def test_a_code_names_its_member_for_sixty_seconds_and_not_a_microsecond_more() -> None:
    card = CODEC.issue(MEMBER, NOW)

    assert card.expires_in == 60
    assert card.expires_at == NOW + CARD_TOKEN_TTL
    assert CODEC.resolve(card.token, NOW) == MEMBER
    assert CODEC.resolve(card.token, NOW + timedelta(seconds=59, microseconds=999_999)) == MEMBER
    assert CODEC.resolve(card.token, NOW + CARD_TOKEN_TTL) is None


def test_a_code_issued_mid_second_never_lives_less_than_its_minute() -> None:
    issued = NOW + timedelta(milliseconds=400)
    card = CODEC.issue(MEMBER, issued)

    assert CODEC.resolve(card.token, issued + timedelta(seconds=59, milliseconds=999)) == MEMBER


def test_a_code_fits_a_qr_code_in_alphanumeric_mode() -> None:
    token = CODEC.issue(MEMBER, NOW).token

    assert len(token) == 48
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_a_changed_character_or_another_key_makes_the_code_worthless() -> None:
    token = CODEC.issue(MEMBER, NOW).token
    other_member = CODEC.issue(UUID(int=1), NOW).token
    spliced = other_member[:26] + token[26:]  # another member's id with this code's tag

    assert CODEC.resolve(spliced, NOW) is None
    assert CardTokenCodec(b"d" * 32).resolve(token, NOW) is None
    for i in range(len(token)):
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        assert CODEC.resolve(flipped, NOW) is None


def test_garbage_is_no_member() -> None:
    for garbage in ["", "not-base32!", "A" * 48, "AAAA", "a" * 200]:
        assert CODEC.resolve(garbage, NOW) is None


def test_the_expiry_inside_the_code_cannot_be_extended() -> None:
    import base64

    raw = bytearray(base64.b32decode(CODEC.issue(MEMBER, NOW).token))
    raw[16:20] = (int(NOW.timestamp()) + 3600).to_bytes(4, "big")

    assert CODEC.resolve(base64.b32encode(bytes(raw)).decode(), NOW + timedelta(minutes=5)) is None
