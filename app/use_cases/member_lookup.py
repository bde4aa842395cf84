"""Find a member by phone or card number, as the back office's search box does (issue #18).

A stand-in until the admin member search of the API issue lands: one exact lookup through the
repositories the till's lookup uses, never the console's own SQL.
"""

from __future__ import annotations

from app.unit_of_work import UnitOfWork
from domain.contacts import ContactNormaliser
from domain.errors import DomainError
from domain.members import Member

MAX_QUERY_LENGTH = 64


async def find_member(query: str, uow: UnitOfWork, contacts: ContactNormaliser) -> Member | None:
    """The member whose card number or phone (normalised to E.164) is ``query``, or None."""
    cleaned = "".join(query.split())[:MAX_QUERY_LENGTH]
    if not cleaned:
        return None
    card = await uow.members.find_card(cleaned)
    if card is not None:
        return await uow.members.get(card.member_id)
    try:
        phone = contacts.phone(cleaned)
    except DomainError:
        return None
    return await uow.members.get_by_phone(phone)
