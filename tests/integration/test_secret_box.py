"""AES-GCM sealing of login codes in the outbox: opens only with the same key and purpose."""

from __future__ import annotations

import pytest

from adapters.secret_box import AesGcmSecretBox

BOX = AesGcmSecretBox(b"k" * 32)


def test_a_sealed_code_opens_again_and_does_not_show_the_code() -> None:
    sealed = BOX.seal("042917")

    assert "042917" not in sealed
    assert BOX.open(sealed) == "042917"
    assert BOX.seal("042917") != sealed  # a fresh nonce every time


@pytest.mark.parametrize(
    "box",
    [AesGcmSecretBox(b"j" * 32), AesGcmSecretBox(b"k" * 32, purpose=b"something-else")],
    ids=["other-key", "other-purpose"],
)
def test_another_key_or_purpose_cannot_open_it(box: AesGcmSecretBox) -> None:
    with pytest.raises(ValueError, match="not sealed by this box"):
        box.open(BOX.seal("042917"))


def test_an_altered_or_garbled_value_does_not_open() -> None:
    sealed = BOX.seal("042917")
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]

    for bad in (flipped, "", "not base64!", sealed[:-4]):
        with pytest.raises(ValueError, match="not sealed by this box"):
            BOX.open(bad)


def test_the_key_must_be_256_bits() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        AesGcmSecretBox(b"short")
