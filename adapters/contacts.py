"""Normalising phone numbers (libphonenumber) and e-mail addresses (email-validator)."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from domain.errors import InvalidEmail, InvalidPhoneNumber

MAX_RAW_PHONE_LENGTH = 32


class LibraryContactNormaliser:
    def __init__(self, default_region: str) -> None:
        self._region = default_region

    def phone(self, raw: str) -> str:
        if not raw or len(raw) > MAX_RAW_PHONE_LENGTH:
            raise InvalidPhoneNumber(field="phone")
        try:
            number = phonenumbers.parse(raw, self._region)
        except phonenumbers.NumberParseException:
            raise InvalidPhoneNumber(field="phone") from None
        if not phonenumbers.is_valid_number(number):
            raise InvalidPhoneNumber(
                f"{raw!r} is not a valid number (default region {self._region})", field="phone"
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def email(self, raw: str) -> str:
        try:
            result = validate_email(raw, check_deliverability=False)
        except EmailNotValidError as error:
            raise InvalidEmail(str(error), field="email") from None
        return str(result.normalized)
