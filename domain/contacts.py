"""Phone numbers and e-mail addresses as the core sees them: already normalised.

Parsing free-form input ("138 0013 8000", "+86-138...") is a job for a library, so it sits
behind the :class:`ContactNormaliser` port; the core only insists on the canonical forms.
"""

from __future__ import annotations

import re
from typing import Protocol

from domain.errors import InvalidEmail, InvalidPhoneNumber

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def require_e164(phone: str) -> str:
    if not _E164.match(phone):
        raise InvalidPhoneNumber(f"{phone!r} is not in E.164 form", field="phone")
    return phone


def require_email(email: str) -> str:
    local, at, domain = email.partition("@")
    if not (at and local and "." in domain and len(email) <= 254):
        raise InvalidEmail(field="email")
    return email


def mask_phone(phone: str) -> str:
    """+8613800138000 -> +86*******8000: enough for a cashier to confirm, not to harvest."""
    if len(phone) <= 7:
        return phone[:2] + "*" * (len(phone) - 2)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


class ContactNormaliser(Protocol):
    def phone(self, raw: str) -> str:
        """E.164 form of ``raw``; raises InvalidPhoneNumber."""
        ...

    def email(self, raw: str) -> str:
        """Normalised address; raises InvalidEmail."""
        ...
