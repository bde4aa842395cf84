"""What an erased member is, for every use case that names a member.

Erasure (member_privacy) keeps the member's row, ids, ledger and sales, so that the books still
add up, and removes the person. From that moment:

- nobody finds them: a lookup by card, phone or the app's card code answers member_not_found,
  exactly as for a member who never existed;
- nothing is done for them: a sale, quote, web order or Stripe payment naming them, an
  adjustment, a tier set by hand, a card replacement, a shop customer link or a review is
  refused with 422 member_erased (the till sells to the customer as a guest instead); a coupon
  issue skips them with that reason. Money still goes back: a refund of a purchase made before
  the erasure, and the release of its pending points, work as before;
- their own tokens end: every /v1/me route refuses a member token of theirs with 401
  (SessionRevoked), and their refresh tokens are gone.

Writes that must not cross an erasure read the member with ``MemberRepository.hold``, which
takes the member's points account lock first, the lock the erasure takes first too: either the
erasure waits for the write (which then happened before it, and is erased with the rest) or
the write waits for the erasure and sees it. Purchases take that lock themselves
(``SaleRepository.buyer_for_update``).
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from app.read_models import MemberReads
from app.unit_of_work import WithMembers
from domain.errors import MemberErased, MemberNotFound, SessionRevoked
from domain.members import Member


class ErasedMembersUnit(WithMembers, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


def named_member(member: Member | None) -> Member:
    """The member a till, an admin or a webhook names for something to be done for them."""
    if member is None:
        raise MemberNotFound()
    if member.erased:
        raise MemberErased()
    return member


def own_account(member: Member | None) -> Member:
    """The member a member token names, while that token may still be used."""
    if member is None:
        raise MemberNotFound()
    if member.erased:
        raise SessionRevoked()
    return member


async def hold_named_member(uow: ErasedMembersUnit, member_id: UUID) -> Member:
    return named_member(await uow.members.hold(member_id))


async def hold_own_account(uow: ErasedMembersUnit, member_id: UUID) -> Member:
    return own_account(await uow.members.hold(member_id))


async def refuse_erased_token(member_id: UUID, reads: MemberReads) -> None:
    """The check every /v1/me request gets before its handler runs, unless the handler's own
    read of the member makes it (one statement on the pool, no transaction)."""
    if await reads.is_erased(member_id):
        raise SessionRevoked()
