"""The member app's rotating card code (see domain.card_tokens for why it is stateless)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from app.use_cases.erased_members import ErasedMembersUnit, own_account
from domain.card_tokens import CardToken, CardTokenCodec
from domain.ports import Clock


class CardTokensUnit(ErasedMembersUnit, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


async def issue_card_token(
    member_id: UUID, uow: CardTokensUnit, *, codec: CardTokenCodec, clock: Clock
) -> CardToken:
    # An access token can outlive its member's row; a code must never name nobody, nor an
    # erased member.
    own_account(await uow.members.get(member_id))
    return codec.issue(member_id, clock.now())
