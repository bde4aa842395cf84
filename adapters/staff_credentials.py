"""Staff passwords (argon2id, argon2-cffi) and TOTP codes (RFC 6238, pyotp)."""

from __future__ import annotations

from datetime import datetime

import argon2
import pyotp
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ISSUER = "Loyalty console"


class Argon2Passwords:
    """argon2-cffi's PasswordHasher: argon2id with its RFC 9106 low-memory profile."""

    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return False


class PyotpCodes:
    """Six-digit codes every 30 s; one step either side is accepted for clock drift."""

    def new_secret(self) -> str:
        return pyotp.random_base32()

    def verify(self, secret: str, code: str, now: datetime) -> bool:
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            return False
        return bool(pyotp.TOTP(secret).verify(code, for_time=now, valid_window=1))

    def provisioning_uri(self, secret: str, account: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)
