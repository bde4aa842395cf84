"""Member card numbers: decimal digits ending in a Luhn check digit.

The check digit lets a till reject a mistyped number before asking the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import InvalidCardNumber
from domain.ports import RandomSource

CARD_NUMBER_LENGTH = 16
# Programme prefix: makes our cards recognisable at a glance and keeps the leading digit
# non-zero, so a number never loses digits when a spreadsheet treats it as an integer.
CARD_PREFIX = "8"


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    # Walking from the right, every second digit of the payload (starting with the rightmost)
    # is doubled, because the check digit will take the rightmost position.
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_luhn_valid(number: str) -> bool:
    return (
        len(number) >= 2
        and number.isascii()
        and number.isdigit()
        and luhn_check_digit(number[:-1]) == number[-1]
    )


def parse_card_number(raw: str) -> str:
    """Accepts what a cashier types or a scanner sends: digits, possibly grouped by spaces."""
    number = raw.replace(" ", "").replace("-", "")
    if len(number) != CARD_NUMBER_LENGTH or not is_luhn_valid(number):
        raise InvalidCardNumber(field="card_number")
    return number


def generate_card_number(random: RandomSource) -> str:
    body_length = CARD_NUMBER_LENGTH - len(CARD_PREFIX) - 1
    body = str(random.randbelow(10**body_length)).zfill(body_length)
    payload = CARD_PREFIX + body
    return payload + luhn_check_digit(payload)


class CardStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class MemberCard:
    card_number: str
    member_id: UUID
    status: CardStatus
    issued_at: datetime
