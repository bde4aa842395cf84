"""Members: one identity across every channel, identified by card number or phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from domain.contacts import mask_phone, require_e164, require_email
from domain.errors import InvalidInput
from domain.member_privacy import is_erased_phone

MAX_NAME_LENGTH = 100
OLDEST_BIRTH_YEAR = 1900


@dataclass(slots=True)
class Member:
    id: UUID
    phone: str | None  # None for members imported from history without one
    card_number: str
    tier_code: str
    enrolled_at: datetime
    name: str | None = None
    email: str | None = None
    birthday: date | None = None
    enrolled_store_id: UUID | None = None

    @classmethod
    def enrol(
        cls,
        *,
        member_id: UUID,
        phone: str,
        card_number: str,
        tier_code: str,
        now: datetime,
        today: date,
        name: str | None = None,
        email: str | None = None,
        birthday: date | None = None,
        store_id: UUID | None = None,
    ) -> Member:
        clean_name = name.strip() if name else None
        if clean_name is not None and len(clean_name) > MAX_NAME_LENGTH:
            raise InvalidInput(f"name is longer than {MAX_NAME_LENGTH} characters", field="name")
        if birthday is not None and not date(OLDEST_BIRTH_YEAR, 1, 1) <= birthday <= today:
            raise InvalidInput("birthday must be a past date after 1900", field="birthday")
        return cls(
            id=member_id,
            phone=require_e164(phone),
            card_number=card_number,
            tier_code=tier_code,
            enrolled_at=now,
            name=clean_name or None,
            email=require_email(email) if email else None,
            birthday=birthday,
            enrolled_store_id=store_id,
        )

    @property
    def erased(self) -> bool:
        """Whether the member's personal data was erased (see domain.member_privacy): the row
        stays for the books, but nobody can find, credit or act as this member any more."""
        return is_erased_phone(self.phone)

    @property
    def display_name(self) -> str:
        """What a till shows: the member's name, or the masked phone if they gave none, or
        the card's last four digits."""
        if self.name:
            return self.name
        return mask_phone(self.phone) if self.phone else f"card ...{self.card_number[-4:]}"
