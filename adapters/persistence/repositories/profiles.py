"""The member's own details, current marketing consent and the consent's history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from adapters.persistence.session import member_written
from adapters.persistence.tables import MemberConsentChangeRow, MemberRow
from domain.members import ConsentChange, ConsentChannel, ConsentSource, Member


class PostgresMemberProfileRepository:
    async def save_profile(self, member: Member) -> None:
        member_written(member.id)
        await MemberRow.update(
            {
                MemberRow.name: member.name,
                MemberRow.email: member.email,
                MemberRow.birthday: member.birthday,
                MemberRow.preferred_language: member.preferred_language,
                MemberRow.consent_sms: ConsentChannel.SMS in member.consents,
                MemberRow.consent_email: ConsentChannel.EMAIL in member.consents,
                MemberRow.consent_push: ConsentChannel.PUSH in member.consents,
            }
        ).where(MemberRow.id == member.id)

    async def add_consent_changes(self, changes: Sequence[ConsentChange]) -> None:
        if not changes:
            return
        await MemberConsentChangeRow.insert(
            *(
                MemberConsentChangeRow(
                    member_id=c.member_id,
                    channel=c.channel.value,
                    granted=c.granted,
                    changed_at=c.changed_at,
                    source=c.source.value,
                    actor=c.actor,
                )
                for c in changes
            )
        )

    async def consent_history(
        self, member_id: UUID, *, before_id: int | None, limit: int
    ) -> list[ConsentChange]:
        query = MemberConsentChangeRow.select().where(MemberConsentChangeRow.member_id == member_id)
        if before_id is not None:
            query = query.where(MemberConsentChangeRow.id < before_id)
        rows = await query.order_by(MemberConsentChangeRow.id, ascending=False).limit(limit)
        return [_change(row) for row in rows]


def _change(row: dict[str, Any]) -> ConsentChange:
    return ConsentChange(
        member_id=row["member_id"],
        channel=ConsentChannel(row["channel"]),
        granted=row["granted"],
        changed_at=row["changed_at"],
        source=ConsentSource(row["source"]),
        actor=row["actor"],
        id=row["id"],
    )
