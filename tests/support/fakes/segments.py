"""CRM segments, by the domain's rules over the fake sales."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.crm import (
    DEFAULT_WINDOW_DAYS,
    CrmSettings,
    LifecycleSegmentSpec,
    LifecycleStage,
    MemberCrmProfile,
    RfmScore,
    RfmValues,
    SegmentSpec,
    TierSegmentSpec,
    score_members,
)
from domain.errors import InvalidInput
from domain.sales import Sale

if TYPE_CHECKING:
    from tests.support.fakes.database import FakeDatabase


class FakeSegmentResolver:
    """Segments by the domain's rules over the fake's sales. The fake keeps no refund dates:
    a sale's refunds count on the sale's own date."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def _ids(self, spec: SegmentSpec, today: date, zone: str, crm: CrmSettings) -> list[UUID]:
        members = self._db.members.members
        if isinstance(spec, TierSegmentSpec):
            if self._db.tiers.current.get(spec.tier_code) is None:
                raise InvalidInput(f"no tier {spec.tier_code!r}", field="tier")
            return sorted(m.id for m in members.values() if m.tier_code == spec.tier_code)
        day = spec.as_of or today
        if isinstance(spec, LifecycleSegmentSpec):
            return sorted(
                m.id for m in members.values() if self._stage(m.id, day, zone, crm) is spec.stage
            )
        scores = self._scores(day, spec.window_days, zone)
        return sorted(k for k, v in scores.items() if v.segment is spec.segment)

    def _days(self, member_id: UUID, zone: str) -> list[tuple[date, Sale]]:
        tz = ZoneInfo(zone)
        return [
            (s.occurred_at.astimezone(tz).date(), s)
            for s in self._db.sales.sales.values()
            if s.member_id == member_id
        ]

    def _stage(self, member_id: UUID, day: date, zone: str, crm: CrmSettings) -> LifecycleStage:
        days = [d for d, _ in self._days(member_id, zone) if d <= day]
        return crm.stage(min(days, default=None), max(days, default=None), day)

    def _scores(self, as_of: date, window_days: int, zone: str) -> dict[UUID, RfmScore]:
        first = as_of - timedelta(days=window_days - 1)
        values = {}
        for member_id in self._db.members.members:
            inside = [(d, s) for d, s in self._days(member_id, zone) if first <= d <= as_of]
            if inside:
                values[member_id] = RfmValues(
                    recency_days=(as_of - max(d for d, _ in inside)).days,
                    frequency=len(inside),
                    monetary=sum(s.payable - s.refunded_amount for _, s in inside),
                )
        return score_members(values)

    async def count(self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings) -> int:
        return len(self._ids(spec, today, zone, crm))

    async def member_ids(
        self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings
    ) -> list[UUID]:
        return self._ids(spec, today, zone, crm)

    async def profile(
        self, member_id: UUID, *, today: date, zone: str, crm: CrmSettings
    ) -> MemberCrmProfile:
        # The fake scores on the spot, as if the scoring job had just run today.
        score = self._scores(today, DEFAULT_WINDOW_DAYS, zone).get(member_id)
        return MemberCrmProfile(
            as_of=today,
            stage=self._stage(member_id, today, zone, crm),
            rfm=score,
            rfm_as_of=today if score else None,
            window_days=DEFAULT_WINDOW_DAYS if score else None,
        )
