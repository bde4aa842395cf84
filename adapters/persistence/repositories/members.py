from __future__ import annotations

from typing import Any
from uuid import UUID

from adapters.persistence.tables import MemberCardRow, MemberRow
from domain.cards import CardStatus, MemberCard
from domain.members import Member

_SELECT_MEMBER = """
SELECT m.id, m.phone, m.name, m.email, m.birthday, m.tier_code, m.enrolled_store_id,
       m.enrolled_at, c.card_number
FROM members m
JOIN member_cards c ON c.member_id = m.id AND c.status = 'active'
"""


def _member(row: dict[str, Any]) -> Member:
    return Member(
        id=row["id"],
        phone=row["phone"],
        card_number=row["card_number"],
        tier_code=row["tier_code"],
        enrolled_at=row["enrolled_at"],
        name=row["name"],
        email=row["email"],
        birthday=row["birthday"],
        enrolled_store_id=row["enrolled_store_id"],
    )


class PostgresMemberRepository:
    async def add(self, member: Member) -> bool:
        inserted = (
            await MemberRow.insert(
                MemberRow(
                    id=member.id,
                    phone=member.phone,
                    name=member.name,
                    email=member.email,
                    birthday=member.birthday,
                    tier_code=member.tier_code,
                    enrolled_store_id=member.enrolled_store_id,
                    enrolled_at=member.enrolled_at,
                )
            )
            .on_conflict(target=MemberRow.phone, action="DO NOTHING")
            .returning(MemberRow.id)
        )
        if not inserted:
            return False
        await MemberCardRow.insert(
            MemberCardRow(
                card_number=member.card_number,
                member_id=member.id,
                status=CardStatus.ACTIVE.value,
                issued_at=member.enrolled_at,
            )
        )
        return True

    async def get(self, member_id: UUID) -> Member | None:
        rows = await MemberRow.raw(_SELECT_MEMBER + " WHERE m.id = {}", member_id)
        return _member(rows[0]) if rows else None

    async def get_by_phone(self, phone: str) -> Member | None:
        rows = await MemberRow.raw(_SELECT_MEMBER + " WHERE m.phone = {}", phone)
        return _member(rows[0]) if rows else None

    async def find_card(self, card_number: str) -> MemberCard | None:
        row = await MemberCardRow.select().where(MemberCardRow.card_number == card_number).first()
        if row is None:
            return None
        return MemberCard(
            card_number=row["card_number"],
            member_id=row["member_id"],
            status=CardStatus(row["status"]),
            issued_at=row["issued_at"],
        )

    async def cards_of(self, member_id: UUID) -> list[MemberCard]:
        rows = (
            await MemberCardRow.select()
            .where(MemberCardRow.member_id == member_id)
            .order_by(MemberCardRow.issued_at, ascending=False)
        )
        return [
            MemberCard(
                card_number=r["card_number"],
                member_id=r["member_id"],
                status=CardStatus(r["status"]),
                issued_at=r["issued_at"],
            )
            for r in rows
        ]

    async def replace_card(self, member_id: UUID, new_card: MemberCard) -> None:
        # Block first: at most one active card per member (partial unique index).
        await MemberCardRow.update(
            {
                MemberCardRow.status: CardStatus.BLOCKED.value,
                MemberCardRow.blocked_at: new_card.issued_at,
            }
        ).where(
            (MemberCardRow.member_id == member_id)
            & (MemberCardRow.status == CardStatus.ACTIVE.value)
        )
        await MemberCardRow.insert(
            MemberCardRow(
                card_number=new_card.card_number,
                member_id=member_id,
                status=CardStatus.ACTIVE.value,
                issued_at=new_card.issued_at,
            )
        )

    async def card_number_taken(self, card_number: str) -> bool:
        return bool(await MemberCardRow.exists().where(MemberCardRow.card_number == card_number))
