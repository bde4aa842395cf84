from __future__ import annotations

import math
import random

import pytest

from domain.coupon_codes import (
    ALPHABET,
    CODE_LENGTH,
    RANDOM_SYMBOLS,
    check_symbol,
    display,
    new_code,
    normalise,
)
from tests.support.fakes import SequenceRandom


class SystemRandom:
    def __init__(self) -> None:
        self._random = random.SystemRandom()

    def randbelow(self, n: int) -> int:
        return self._random.randrange(n)

    def token_bytes(self, n: int) -> bytes:
        return self._random.randbytes(n)


def test_codes_carry_at_least_sixty_random_bits() -> None:
    assert RANDOM_SYMBOLS * math.log2(len(ALPHABET)) >= 60


def test_the_alphabet_has_no_symbols_that_read_as_others() -> None:
    assert len(ALPHABET) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_a_new_code_is_valid_and_reads_back_as_itself() -> None:
    code = new_code(SystemRandom())
    assert len(code) == CODE_LENGTH
    assert normalise(code) == code
    assert normalise(display(code)) == code


def test_codes_are_printed_in_groups_of_five() -> None:
    code = new_code(SequenceRandom(seed=7))
    printed = display(code)
    assert printed.split("-") == [code[0:5], code[5:10], code[10:15]]


def test_reading_ignores_case_spaces_and_hyphens_and_takes_i_l_o_for_1_1_0() -> None:
    payload = "1O0A1B2C3D4E5F"  # O is read as 0
    code = payload.replace("O", "0") + check_symbol(payload.replace("O", "0"))
    typed = " " + code[:5].lower() + " - " + code[5:].replace("1", "l") + " "
    assert normalise(typed) == code
    assert normalise(code.replace("1", "I")) == code


@pytest.mark.parametrize("position", range(CODE_LENGTH))
def test_every_single_mistyped_symbol_is_caught(position: int) -> None:
    code = new_code(SequenceRandom(seed=position))
    for symbol in ALPHABET:
        if symbol == code[position]:
            continue
        typo = code[:position] + symbol + code[position + 1 :]
        assert normalise(typo) is None, typo


def test_every_swap_of_two_different_neighbours_is_caught() -> None:
    rng = SystemRandom()
    for _ in range(200):
        code = new_code(rng)
        for i in range(CODE_LENGTH - 1):
            if code[i] == code[i + 1]:
                continue
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            assert normalise(swapped) is None, (code, swapped)


@pytest.mark.parametrize(
    "text", ["", "SAVE10", "WELCOME-10", "U" * CODE_LENGTH, "!" * CODE_LENGTH, "0" * 100]
)
def test_what_cannot_be_a_code_is_refused_before_any_lookup(text: str) -> None:
    assert normalise(text) is None


def test_codes_drawn_from_a_cryptographic_source_do_not_repeat() -> None:
    rng = SystemRandom()
    codes = {new_code(rng) for _ in range(20_000)}
    assert len(codes) == 20_000
