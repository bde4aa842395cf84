from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from adapters.persistence.session import member_written
from adapters.persistence.tables import MemberCardRow, MemberRow, TierChangeRow
from domain.cards import CardStatus, MemberCard
from domain.member_privacy import is_erased_phone
from domain.members import ConsentChannel, Member
from domain.repositories import TierChangeRecord, TierEvent
from domain.tier_policy import Decision, MemberTier, TierChange, TierChangeReason

_SELECT_MEMBER = """
SELECT m.id, m.phone, m.name, m.email, m.birthday, m.tier_code, m.enrolled_store_id,
       m.enrolled_at, m.preferred_language, m.consent_sms, m.consent_email, m.consent_push,
       c.card_number
FROM members m
JOIN member_cards c ON c.member_id = m.id AND c.status = 'active'
"""

# The account first (FOR UPDATE, the lock purchases and erasure take first), and the member row
# locked too: a locked row is returned as its latest committed version, so a member erased
# while this waited shows as erased (an unlocked join would show the row as it was before).
_HOLD_MEMBER = """
SELECT m.id, m.phone, m.name, m.email, m.birthday, m.tier_code, m.enrolled_store_id,
       m.enrolled_at, m.preferred_language, m.consent_sms, m.consent_email, m.consent_push,
       c.card_number
FROM points_accounts a
JOIN members m ON m.id = a.member_id
JOIN member_cards c ON c.member_id = m.id AND c.status = 'active'
WHERE a.member_id = {}
FOR UPDATE OF a FOR KEY SHARE OF m
"""


def member_from_row(row: Mapping[str, Any]) -> Member:
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
        preferred_language=row.get("preferred_language"),
        consents=frozenset(
            channel for channel in ConsentChannel if row.get(f"consent_{channel.value}")
        ),
    )


class PostgresMemberRepository:
    async def add(self, member: Member) -> bool:
        member_written(member.id)
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
        return member_from_row(rows[0]) if rows else None

    async def get_by_phone(self, phone: str) -> Member | None:
        rows = await MemberRow.raw(_SELECT_MEMBER + " WHERE m.phone = {}", phone)
        return member_from_row(rows[0]) if rows else None

    async def hold(self, member_id: UUID) -> Member | None:
        member_written(member_id)
        rows = await MemberRow.raw(_HOLD_MEMBER, member_id)
        return member_from_row(rows[0]) if rows else None

    async def existing(self, member_ids: Sequence[UUID]) -> dict[UUID, bool]:
        if not member_ids:
            return {}
        rows = await MemberRow.raw(
            "SELECT id, phone FROM members WHERE id = ANY({}::uuid[])", list(member_ids)
        )
        return {row["id"]: is_erased_phone(row["phone"]) for row in rows}

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
        member_written(member_id)
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

    async def standing(self, member_id: UUID) -> MemberTier:
        row = (
            await MemberRow.select(
                MemberRow.tier_code, MemberRow.tier_short_since, MemberRow.tier_manual_until
            )
            .where(MemberRow.id == member_id)
            .first()
        )
        if row is None:
            raise LookupError(f"no member {member_id}")
        return MemberTier(row["tier_code"], row["tier_short_since"], row["tier_manual_until"])

    async def change_tier(self, member_id: UUID, decision: Decision, event: TierEvent) -> None:
        member_written(member_id)
        standing = decision.standing
        await MemberRow.update(
            {
                MemberRow.tier_code: standing.tier_code,
                MemberRow.tier_short_since: standing.short_since,
                MemberRow.tier_manual_until: standing.manual_until,
            }
        ).where(MemberRow.id == member_id)
        if decision.change is not None:
            await TierChangeRow.insert(
                TierChangeRow(
                    member_id=member_id,
                    from_code=decision.change.from_code,
                    to_code=decision.change.to_code,
                    reason=decision.change.reason.value,
                    at=event.at,
                    actor=event.actor,
                    note=event.note,
                    policy_version=event.policy_version,
                )
            )

    async def tier_history(self, member_id: UUID) -> list[TierChangeRecord]:
        rows = (
            await TierChangeRow.select()
            .where(TierChangeRow.member_id == member_id)
            .order_by(TierChangeRow.id, ascending=False)
        )
        return [
            TierChangeRecord(
                TierChange(r["from_code"], r["to_code"], TierChangeReason(r["reason"])),
                TierEvent(r["at"], r["policy_version"], r["actor"], r["note"]),
            )
            for r in rows
        ]

    async def card_number_taken(self, card_number: str) -> bool:
        return bool(await MemberCardRow.exists().where(MemberCardRow.card_number == card_number))
