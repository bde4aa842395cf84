"""Finding a member in the back office by what a caller or a customer tells a service agent:
a phone number (in any form the till accepts), a card number, an e-mail address, part of a
name, or an id in another system. The 360 view then takes the member id.

An erased member is found by none of them: their phone, name and e-mail are gone and their
external ids deleted, and the card numbers they kept (the books name them) are left out too,
as the till's lookup leaves them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from domain.cards import parse_card_number
from domain.contacts import ContactNormaliser
from domain.errors import InvalidInput
from domain.member_search import FoundMember, MemberDirectory, SearchBy

MAX_NAME_QUERY = 100
MAX_EXTERNAL_ID = 128


@dataclass(frozen=True, slots=True)
class MemberQuery:
    phone: str | None = None
    card_number: str | None = None
    email: str | None = None
    name: str | None = None
    external_id: str | None = None


def normalised(query: MemberQuery, contacts: ContactNormaliser) -> tuple[SearchBy, str]:
    """The one criterion given, in the form the members table keeps it."""
    given = [
        (by, value)
        for by, value in (
            (SearchBy.PHONE, query.phone),
            (SearchBy.CARD_NUMBER, query.card_number),
            (SearchBy.EMAIL, query.email),
            (SearchBy.NAME, query.name),
            (SearchBy.EXTERNAL_ID, query.external_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one of phone, card_number, email, name or external_id", field="query"
        )
    [(by, raw)] = given
    if by is SearchBy.PHONE:
        return by, contacts.phone(raw)  # the till's lookup normalises the same way
    if by is SearchBy.CARD_NUMBER:
        return by, parse_card_number(raw)
    if by is SearchBy.EMAIL:
        return by, contacts.email(raw.strip()).lower()
    if by is SearchBy.NAME:
        name = " ".join(raw.split()).lower()
        if not 1 <= len(name) <= MAX_NAME_QUERY:
            raise InvalidInput(
                f"a name to search for has 1 to {MAX_NAME_QUERY} characters", field="name"
            )
        return by, name
    external = raw.strip()
    if not 1 <= len(external) <= MAX_EXTERNAL_ID:
        raise InvalidInput(
            f"an external id has 1 to {MAX_EXTERNAL_ID} characters", field="external_id"
        )
    return by, external


async def find_members(
    query: MemberQuery,
    directory: MemberDirectory,
    *,
    contacts: ContactNormaliser,
    after: UUID | None,
    limit: int,
) -> Sequence[FoundMember]:
    by, value = normalised(query, contacts)
    return await directory.find(by, value, after=after, limit=limit)
