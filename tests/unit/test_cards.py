from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.cards import (
    CARD_NUMBER_LENGTH,
    generate_card_number,
    is_luhn_valid,
    luhn_check_digit,
    parse_card_number,
)
from domain.errors import InvalidCardNumber
from tests.support.fakes import SequenceRandom

# 16-digit numbers whose last digit is the Luhn check digit (well-known test card numbers).
VALID_16 = "4111111111111111"
VALID_16_OTHER = "5555555555554444"
# The textbook number in full-width digits: str.isdigit() says yes, the Luhn check must say no.
FULLWIDTH = "".join(chr(0xFF10 + int(d)) for d in "79927398713")


def test_the_check_digit_of_the_textbook_example_7992739871_is_3() -> None:
    assert luhn_check_digit("7992739871") == "3"
    assert is_luhn_valid("79927398713")


@pytest.mark.parametrize(
    ("payload", "digit"),
    [("0", "0"), ("1", "8"), ("411111111111111", "1"), ("555555555555444", "4"), ("9", "1")],
)
def test_luhn_check_digit_of_known_payloads(payload: str, digit: str) -> None:
    assert luhn_check_digit(payload) == digit


@pytest.mark.parametrize("wrong_last", ["0", "1", "2", "4", "5", "6", "7", "8", "9"])
def test_any_other_check_digit_than_the_right_one_is_rejected(wrong_last: str) -> None:
    assert not is_luhn_valid("7992739871" + wrong_last)


def test_a_single_mistyped_digit_is_caught_by_the_check_digit() -> None:
    for position in range(len(VALID_16)):
        for replacement in "0123456789":
            if replacement == VALID_16[position]:
                continue
            typo = VALID_16[:position] + replacement + VALID_16[position + 1 :]
            assert not is_luhn_valid(typo), typo


def test_swapping_two_adjacent_different_digits_is_caught() -> None:
    number = "812345678901234" + luhn_check_digit("812345678901234")
    assert is_luhn_valid(number)
    swapped = number[:1] + number[2] + number[1] + number[3:]
    assert not is_luhn_valid(swapped)


@pytest.mark.parametrize("raw", ["", "0", "7", "12a4", FULLWIDTH, "-79927398713"])
def test_too_short_or_non_ascii_digit_strings_are_never_luhn_valid(raw: str) -> None:
    assert not is_luhn_valid(raw)


def test_parse_card_number_accepts_a_valid_sixteen_digit_number() -> None:
    assert parse_card_number(VALID_16) == VALID_16
    assert parse_card_number(VALID_16_OTHER) == VALID_16_OTHER


def test_parse_card_number_removes_grouping_spaces_and_dashes() -> None:
    assert parse_card_number("4111 1111 1111 1111") == VALID_16
    assert parse_card_number(" 4111-1111-1111-1111 ") == VALID_16


def test_parse_card_number_rejects_a_mistyped_digit() -> None:
    with pytest.raises(InvalidCardNumber) as caught:
        parse_card_number("4111 1111 1111 1112")
    assert caught.value.code == "invalid_card_number"
    assert caught.value.field == "card_number"


@pytest.mark.parametrize(
    "raw",
    [
        "79927398713",  # Luhn-valid, but not a card of ours: wrong length
        "41111111111111111",  # 17 digits
        "411111111111111",  # 15 digits
        "4111x11111111111",
        "",
    ],
)
def test_parse_card_number_rejects_wrong_lengths_and_non_digits(raw: str) -> None:
    with pytest.raises(InvalidCardNumber):
        parse_card_number(raw)


def test_a_generated_card_number_is_prefix_8_then_the_zero_padded_body_then_the_check_digit() -> (
    None
):
    number = generate_card_number(SequenceRandom([42]))
    assert number == "8" + "00000000000042" + luhn_check_digit("800000000000042")
    assert len(number) == CARD_NUMBER_LENGTH == 16
    assert parse_card_number(number) == number


def test_the_largest_generated_body_still_gives_sixteen_digits() -> None:
    number = generate_card_number(SequenceRandom([10**14 - 1]))
    assert number[:15] == "8" + "9" * 14
    assert len(number) == 16
    assert is_luhn_valid(number)


@settings(max_examples=100)
@given(st.integers(min_value=0))
def test_every_generated_card_number_has_sixteen_digits_prefix_8_and_a_valid_check_digit(
    seed: int,
) -> None:
    number = generate_card_number(SequenceRandom(seed=seed))
    assert len(number) == 16
    assert number.isdigit()
    assert number.startswith("8")
    assert is_luhn_valid(number)
    assert parse_card_number(number) == number
