"""Members: one identity across every channel, identified by card number or phone."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.contacts import mask_phone, require_e164, require_email
from domain.errors import BirthdayLocked, InvalidInput
from domain.member_privacy import is_erased_phone

MAX_NAME_LENGTH = 100
OLDEST_BIRTH_YEAR = 1900
MAX_LANGUAGE_LENGTH = 35
# A BCP 47 language tag in its common shapes: zh, zh-CN, zh-Hant-TW, en-US, yue-HK.
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")


class ConsentChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


class ConsentSource(StrEnum):
    """Where a consent change came from: the member in the app, or the programme's staff."""

    MEMBER_APP = "member_app"
    ADMIN = "admin"


def clean_name(name: str | None) -> str | None:
    clean = name.strip() if name else None
    if clean is not None and len(clean) > MAX_NAME_LENGTH:
        raise InvalidInput(f"name is longer than {MAX_NAME_LENGTH} characters", field="name")
    return clean or None


def require_birthday(birthday: date, today: date) -> date:
    if not date(OLDEST_BIRTH_YEAR, 1, 1) <= birthday <= today:
        raise InvalidInput("birthday must be a past date after 1900", field="birthday")
    return birthday


def require_language(tag: str) -> str:
    if len(tag) > MAX_LANGUAGE_LENGTH or not _LANGUAGE.match(tag):
        raise InvalidInput(
            "preferred_language must be a BCP 47 language tag such as zh-CN or en",
            field="preferred_language",
        )
    return tag


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
    preferred_language: str | None = None
    # The marketing channels the member agreed to (the history is kept beside it).
    consents: frozenset[ConsentChannel] = field(default_factory=frozenset)

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
        if birthday is not None:
            require_birthday(birthday, today)
        return cls(
            id=member_id,
            phone=require_e164(phone),
            card_number=card_number,
            tier_code=tier_code,
            enrolled_at=now,
            name=clean_name(name),
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

    def set_own_birthday(self, birthday: date, today: date) -> bool:
        """The member sets their birthday once; the same date again changes nothing (a
        retried request), another one is refused. Returns whether it changed."""
        require_birthday(birthday, today)
        if self.birthday == birthday:
            return False
        if self.birthday is not None:
            raise BirthdayLocked(
                "the birthday can be set once in the app; ask the programme's staff to correct it"
            )
        self.birthday = birthday
        return True


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One change of one channel's marketing consent, kept for good as the record of what the
    member agreed to, when, and through what."""

    member_id: UUID
    channel: ConsentChannel
    granted: bool
    changed_at: datetime
    source: ConsentSource
    actor: str | None = None  # the admin's subject for an admin change
    id: int | None = None


def consent_changes(
    member: Member,
    wanted: dict[ConsentChannel, bool],
    *,
    now: datetime,
    source: ConsentSource,
    actor: str | None = None,
) -> list[ConsentChange]:
    """Applies ``wanted`` to the member's consents and returns one change per channel whose
    state really changed (sending the current state again records nothing)."""
    changes = []
    current = set(member.consents)
    for channel in ConsentChannel:
        if channel not in wanted or wanted[channel] == (channel in current):
            continue
        if wanted[channel]:
            current.add(channel)
        else:
            current.discard(channel)
        changes.append(ConsentChange(member.id, channel, wanted[channel], now, source, actor))
    member.consents = frozenset(current)
    return changes


class MemberProfileRepository(Protocol):
    """The member's own details and marketing consent, and the consent's history."""

    async def save_profile(self, member: Member) -> None:
        """Writes name, e-mail, birthday, preferred language and current consent."""
        ...

    async def add_consent_changes(self, changes: Sequence[ConsentChange]) -> None: ...

    async def consent_history(
        self, member_id: UUID, *, before_id: int | None, limit: int
    ) -> list[ConsentChange]:
        """Newest first; ``before_id`` is the id of the last change already seen."""
        ...
