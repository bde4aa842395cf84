"""The member repository: members, their cards and their tier standing."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.cards import CardStatus, MemberCard
from domain.members import Member
from domain.repositories import TierChangeRecord, TierEvent
from domain.tier_policy import Decision, MemberTier
from tests.support.fakes.common import ConstraintViolation, Linked, require


class FakeMemberRepository(Linked):
    """Members, their cards and tier standing; a member's tier and enrolling store must exist."""

    def __init__(self) -> None:
        self.members: dict[UUID, Member] = {}
        self.cards: dict[str, MemberCard] = {}
        self.tier_state: dict[UUID, tuple[datetime | None, datetime | None]] = {}
        self.history: dict[UUID, list[TierChangeRecord]] = {}

    async def add(self, member: Member) -> bool:
        if any(m.phone == member.phone for m in self.members.values()):
            return False
        if member.card_number in self.cards:
            raise ConstraintViolation(f"card number {member.card_number} is taken")
        self._require_tier(member.tier_code)
        require(
            member.enrolled_store_id is None or member.enrolled_store_id in self.db.stores.stores,
            "members_enrolled_store_id_fkey",
        )
        self.members[member.id] = copy.deepcopy(member)
        self.cards[member.card_number] = MemberCard(
            member.card_number, member.id, CardStatus.ACTIVE, member.enrolled_at
        )
        return True

    async def get(self, member_id: UUID) -> Member | None:
        return copy.deepcopy(self.members.get(member_id))

    async def existing(self, member_ids: Sequence[UUID]) -> dict[UUID, bool]:
        return {m: self.members[m].erased for m in member_ids if m in self.members}

    async def hold(self, member_id: UUID) -> Member | None:
        return await self.get(member_id)  # one task at a time: nothing to lock against

    async def get_by_phone(self, phone: str) -> Member | None:
        found = next((m for m in self.members.values() if m.phone == phone), None)
        return copy.deepcopy(found)

    async def find_card(self, card_number: str) -> MemberCard | None:
        return self.cards.get(card_number)

    async def card_number_taken(self, card_number: str) -> bool:
        return card_number in self.cards

    async def standing(self, member_id: UUID) -> MemberTier:
        member = self.members[member_id]
        short, manual = self.tier_state.get(member_id, (None, None))
        return MemberTier(member.tier_code, short, manual)

    async def change_tier(self, member_id: UUID, decision: Decision, event: TierEvent) -> None:
        standing = decision.standing
        self._require_tier(standing.tier_code)
        self.members[member_id].tier_code = standing.tier_code
        self.tier_state[member_id] = (standing.short_since, standing.manual_until)
        if decision.change is not None:
            self.history.setdefault(member_id, []).insert(
                0, TierChangeRecord(decision.change, event)
            )

    def _require_tier(self, code: str) -> None:
        require(self.db.tiers.current.get(code) is not None, "members_tier_code_fkey")

    async def tier_history(self, member_id: UUID) -> list[TierChangeRecord]:
        return list(self.history.get(member_id, []))

    async def cards_of(self, member_id: UUID) -> list[MemberCard]:
        mine = [c for c in self.cards.values() if c.member_id == member_id]
        return sorted(mine, key=lambda c: c.issued_at, reverse=True)

    async def replace_card(self, member_id: UUID, new_card: MemberCard) -> None:
        if new_card.card_number in self.cards:
            raise ConstraintViolation(f"card number {new_card.card_number} is taken")
        for number, card in list(self.cards.items()):
            if card.member_id == member_id and card.status is CardStatus.ACTIVE:
                self.cards[number] = replace(card, status=CardStatus.BLOCKED)
        self.cards[new_card.card_number] = replace(
            new_card, member_id=member_id, status=CardStatus.ACTIVE
        )
        # A member is loaded with their active card's number.
        self.members[member_id].card_number = new_card.card_number

    def block_card(self, card_number: str) -> None:
        """Test helper: what replacing a lost card does to the old number."""
        self.cards[card_number] = replace(self.cards[card_number], status=CardStatus.BLOCKED)
