"""The member profile port: profile columns of a member and the consent history."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from domain.members import ConsentChange, ConsentSource, Member
from tests.support.fakes.common import Linked, require


class FakeMemberProfileRepository(Linked):
    """A change's member must exist and an admin's change names its admin (the table's
    foreign key and CHECK); ids grow like the table's identity column."""

    def __init__(self) -> None:
        self.changes: list[ConsentChange] = []

    async def save_profile(self, member: Member) -> None:
        stored = self.db.members.members.get(member.id)
        if stored is None:
            return  # an UPDATE of no row
        self.db.members.members[member.id] = replace(
            stored,
            name=member.name,
            email=member.email,
            birthday=member.birthday,
            preferred_language=member.preferred_language,
            consents=frozenset(member.consents),
        )

    async def add_consent_changes(self, changes: Sequence[ConsentChange]) -> None:
        for change in changes:
            require(change.member_id in self.db.members.members, "member_consent_changes_fkey")
            require(
                change.source is not ConsentSource.ADMIN or change.actor is not None,
                "member_consent_changes_admin_actor",
            )
        for change in changes:
            self.changes.append(replace(change, id=len(self.changes) + 1))

    async def consent_history(
        self, member_id: UUID, *, before_id: int | None, limit: int
    ) -> list[ConsentChange]:
        mine = [
            c
            for c in reversed(self.changes)
            if c.member_id == member_id and (before_id is None or (c.id or 0) < before_id)
        ]
        return copy.deepcopy(mine[:limit])
