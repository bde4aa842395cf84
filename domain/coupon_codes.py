"""Coupon codes: unguessable, easy to read aloud, and checked before they reach the database.

A code is 14 random symbols (70 bits) of Crockford's base32 alphabet, which leaves out I, L,
O and U so that nothing reads as 1, 0 or another letter, plus one check symbol, printed in
groups of five: ``7K3QH-Z9M2C-XW4RB``. The check symbol is a weighted sum in the field of 32
elements, GF(2^5): symbol i is multiplied by a^(i+1) for a primitive element a. A mistyped symbol
changes the sum by e * a^k, and a swap of two different neighbours by (x + y) * a^k * (1 + a),
neither of which is ever zero in a field, so both are always caught (Luhn mod 32 misses the
swap of 0 and Z). A till can tell "mistyped" from "not a coupon" without asking anybody.

Reading is forgiving the way Crockford intended: case, hyphens and spaces are ignored, and I/L
read as 1, O as 0.
"""

from __future__ import annotations

from domain.ports import RandomSource

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 14
CODE_LENGTH = RANDOM_SYMBOLS + 1
GROUP = 5
MAX_INPUT_LENGTH = 40  # anything longer is not a code, however it is spaced

_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_ALIASES = {"I": "1", "L": "1", "O": "0"}


# GF(2^5) with the primitive polynomial x^5 + x^2 + 1: powers of the generator x.
_POWERS: list[int] = []
_LOGS: dict[int, int] = {}
_element = 1
for _exponent in range(31):
    _POWERS.append(_element)
    _LOGS[_element] = _exponent
    _element <<= 1
    if _element & 0b100000:
        _element ^= 0b100101


def _times_power(value: int, exponent: int) -> int:
    """value * x^exponent in GF(2^5)."""
    if value == 0:
        return 0
    return _POWERS[(_LOGS[value] + exponent) % 31]


def check_symbol(payload: str) -> str:
    """The check symbol of ``payload`` (symbols of ALPHABET)."""
    total = 0
    for position, symbol in enumerate(payload):
        total ^= _times_power(_VALUE[symbol], position + 1)
    return ALPHABET[total]


def new_code(random: RandomSource) -> str:
    """A fresh code in canonical form (no separators)."""
    payload = "".join(ALPHABET[random.randbelow(len(ALPHABET))] for _ in range(RANDOM_SYMBOLS))
    return payload + check_symbol(payload)


def normalise(text: str) -> str | None:
    """The canonical form of a code as typed, or None if it cannot be a valid code."""
    if len(text) > MAX_INPUT_LENGTH:
        return None
    symbols = []
    for char in text.upper():
        if char in "- ":
            continue
        char = _ALIASES.get(char, char)
        if char not in _VALUE:
            return None
        symbols.append(char)
    code = "".join(symbols)
    if len(code) != CODE_LENGTH or check_symbol(code[:-1]) != code[-1]:
        return None
    return code


def display(code: str) -> str:
    """The canonical code in groups for printing and reading aloud."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))
