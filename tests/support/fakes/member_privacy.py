"""The member-privacy port on the other fakes' dicts: export and erase what they hold."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.member_privacy import ERASED_TEXT, ExportedRows


def _row(value: Any) -> dict[str, object]:
    return {
        k: str(v) if not isinstance(v, int | str | None) else v
        for k, v in dataclasses.asdict(value).items()
    }


class FakeMemberPrivacyRepository:
    def __init__(self, db: Any) -> None:
        self._db = db

    async def export(self, member_id: UUID) -> dict[str, ExportedRows]:
        member = self._db.members.members.get(member_id)
        if member is None:
            return {}
        return {
            "members": [_row(member)],
            "feedback": [
                _row(f) for f in self._db.feedback.records.values() if f.member_id == member_id
            ],
            "shop_customers": [
                {"customer_id": c, "member_id": str(m)}
                for c, m in self._db.shop.customers.items()
                if m == member_id
            ],
        }

    async def erase(self, member_id: UUID, *, tombstone: str, at: datetime) -> dict[str, int]:
        members = self._db.members.members
        member = members[member_id]
        erased = dataclasses.replace(member, phone=tombstone, name=None, email=None, birthday=None)
        changed = {"members": int(erased != member), "shop_customers": 0, "feedback": 0}
        changed |= dict.fromkeys(
            ("refresh_tokens", "outbox", "member_external_ids", "follow_ups", "by_phone"), 0
        )  # not held by the fakes
        members[member_id] = erased
        for customer, owner in list(self._db.shop.customers.items()):
            if owner == member_id:
                del self._db.shop.customers[customer]
                changed["shop_customers"] += 1
        for feedback_id, f in list(self._db.feedback.records.items()):
            if f.member_id == member_id and f.text != ERASED_TEXT:
                self._db.feedback.records[feedback_id] = dataclasses.replace(
                    f, text=ERASED_TEXT, order_ref=None, admin_note=None, updated_at=at
                )
                changed["feedback"] += 1
        return changed
