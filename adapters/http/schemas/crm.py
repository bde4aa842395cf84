"""CRM analytics: RFM, lifecycle, churn warnings, regions, segment previews, follow-ups."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from adapters.http.schemas.common import Input, Output, Page
from app.reports import (
    ChurnRisk,
    LifecycleReport,
    RegionRow,
    RfmReport,
    ScoredMember,
    SegmentMember,
    SegmentRow,
)
from app.use_cases.crm import SegmentPreview
from domain.crm import (
    LifecycleSegmentSpec,
    LifecycleStage,
    MemberCrmProfile,
    RfmSegment,
    RfmSegmentSpec,
    SegmentSpec,
)
from domain.follow_ups import FollowUpListing, FollowUpStatus

Score = Annotated[int, Meta(ge=1, le=5)]
Average = Annotated[Decimal, Meta(description="a decimal string, 2 places")]
Segment = RfmSegment
Stage = LifecycleStage


class RfmSegmentOut(Output, kw_only=True):
    segment: Segment
    members: int
    share: Annotated[Decimal, Meta(description="members / members scored, 4 places")]
    avg_recency_days: Average
    avg_frequency: Average
    avg_monetary: Annotated[Decimal, Meta(description="minor units, 2 places")]
    total_monetary: Annotated[int, Meta(description="minor units: sales - refunds in window")]
    avg_r: Average
    avg_f: Average
    avg_m: Average

    @classmethod
    def of(cls, row: SegmentRow) -> RfmSegmentOut:
        return cls(
            segment=row.segment,
            members=row.members,
            share=row.share,
            avg_recency_days=row.avg_recency_days,
            avg_frequency=row.avg_frequency,
            avg_monetary=row.avg_monetary,
            total_monetary=row.total_monetary,
            avg_r=row.avg_r,
            avg_f=row.avg_f,
            avg_m=row.avg_m,
        )


class RfmReportOut(Output, kw_only=True):
    as_of: date
    window_days: int
    window_start: date
    members_scored: int
    segments: list[RfmSegmentOut]

    @classmethod
    def of(cls, report: RfmReport) -> RfmReportOut:
        return cls(
            as_of=report.as_of,
            window_days=report.window_days,
            window_start=report.as_of - timedelta(days=report.window_days - 1),
            members_scored=report.members_scored,
            segments=[RfmSegmentOut.of(s) for s in report.segments],
        )


class StageCountsOut(Output, kw_only=True):
    prospect: int
    new: int
    active: int
    dormant: int
    churned: int

    @classmethod
    def of(cls, counts: dict[LifecycleStage, int]) -> StageCountsOut:
        return cls(
            prospect=counts[LifecycleStage.PROSPECT],
            new=counts[LifecycleStage.NEW],
            active=counts[LifecycleStage.ACTIVE],
            dormant=counts[LifecycleStage.DORMANT],
            churned=counts[LifecycleStage.CHURNED],
        )


class StageFlowOut(Output, kw_only=True):
    from_: Annotated[Stage | None, Meta(description="null: enrolled during the period")] = (
        msgspec.field(name="from")
    )
    to: Stage
    members: int


class LifecycleReportOut(Output, kw_only=True):
    """Stages at the end of the day before `from` (at_start) and of the day before `to`
    (at_end); flows count the members whose stage changed, by (from, to)."""

    from_: date = msgspec.field(name="from")
    to: date
    at_start: StageCountsOut
    at_end: StageCountsOut
    flows: list[StageFlowOut]

    @classmethod
    def of(cls, report: LifecycleReport) -> LifecycleReportOut:
        return cls(
            from_=report.start,
            to=report.end,
            at_start=StageCountsOut.of(report.at_start),
            at_end=StageCountsOut.of(report.at_end),
            flows=[
                StageFlowOut(
                    from_=f.from_stage,
                    to=f.to_stage,
                    members=f.members,
                )
                for f in report.flows
            ],
        )


class ChurnRiskOut(Output, kw_only=True):
    member_id: UUID
    tier_code: str
    last_sale_on: date
    dormant_since: date
    monetary: Annotated[int, Meta(description="minor units over the RFM window")]
    m_score: Score | None
    top_quintile: bool
    top_tier: bool

    @classmethod
    def of(cls, row: ChurnRisk) -> ChurnRiskOut:
        return cls(
            member_id=row.member_id,
            tier_code=row.tier_code,
            last_sale_on=row.last_sale_on,
            dormant_since=row.dormant_since,
            monetary=row.monetary,
            m_score=row.m_score,
            top_quintile=row.top_quintile,
            top_tier=row.top_tier,
        )


class RfmMemberOut(Output, kw_only=True):
    """One scored member of the RFM report (the CSV of GET /v1/admin/reports/rfm/members/csv)."""

    member_id: UUID
    name: str | None
    tier_code: str
    recency_days: int
    frequency: int
    monetary: Annotated[int, Meta(description="minor units over the window")]
    r: Score
    f: Score
    m: Score
    segment: Segment

    @classmethod
    def of(cls, row: ScoredMember) -> RfmMemberOut:
        return cls(
            member_id=row.member_id,
            name=row.name,
            tier_code=row.tier_code,
            recency_days=row.recency_days,
            frequency=row.frequency,
            monetary=row.monetary,
            r=row.r,
            f=row.f,
            m=row.m,
            segment=row.segment,
        )


class SegmentMemberOut(Output, kw_only=True):
    member_id: UUID
    name: str | None
    tier_code: str
    enrolled_at: datetime

    @classmethod
    def of(cls, row: SegmentMember) -> SegmentMemberOut:
        return cls(
            member_id=row.member_id,
            name=row.name,
            tier_code=row.tier_code,
            enrolled_at=row.enrolled_at,
        )


class ChurnRiskPageOut(Page, kw_only=True):
    as_of: date
    items: list[ChurnRiskOut]


class RegionOut(Output, kw_only=True):
    region: Annotated[str | None, Meta(description="null: members without a region")]
    members: int
    buyers: Annotated[int, Meta(description="members with at least one sale in the period")]
    sales: int
    net_spend: Annotated[int, Meta(description="minor units: sales - refunds in the period")]

    @classmethod
    def of(cls, row: RegionRow) -> RegionOut:
        return cls(
            region=row.region,
            members=row.members,
            buyers=row.buyers,
            sales=row.sales,
            net_spend=row.net_spend,
        )


class RegionsOut(Output, kw_only=True):
    from_: date | None = msgspec.field(name="from")
    to: date | None
    regions: list[RegionOut]


class RfmOut(Output, kw_only=True):
    recency_days: int
    frequency: int
    monetary: int
    r: Score
    f: Score
    m: Score
    segment: Segment


class MemberCrmOut(Output, kw_only=True):
    """The lifecycle stage on as_of (today) and the RFM scores from the latest snapshot (the
    score-rfm job, nightly in a service that runs its jobs; null: not scored then, or never
    run), with how old that snapshot is."""

    as_of: Annotated[date, Meta(description="today, for the lifecycle stage")]
    lifecycle: Stage
    rfm: RfmOut | None
    rfm_as_of: Annotated[date | None, Meta(description="the day the scores were taken as of")]
    window_days: int | None
    rfm_computed_at: Annotated[
        datetime | None, Meta(description="when the snapshot was taken (the score-rfm job)")
    ] = None
    rfm_age_days: Annotated[
        int | None,
        Meta(description="how old the scores are: days from rfm_as_of to as_of (0: today's)"),
    ] = None

    @classmethod
    def of(cls, profile: MemberCrmProfile) -> MemberCrmOut:
        rfm = profile.rfm
        return cls(
            as_of=profile.as_of,
            rfm_as_of=profile.rfm_as_of,
            window_days=profile.window_days,
            rfm_computed_at=profile.rfm_computed_at,
            rfm_age_days=(profile.as_of - profile.rfm_as_of).days if profile.rfm_as_of else None,
            rfm=RfmOut(
                recency_days=rfm.values.recency_days,
                frequency=rfm.values.frequency,
                monetary=rfm.values.monetary,
                r=rfm.r,
                f=rfm.f,
                m=rfm.m,
                segment=rfm.segment,
            )
            if rfm
            else None,
            lifecycle=profile.stage,
        )


class SegmentSpecOut(Output, kw_only=True, omit_defaults=True):
    rfm: Segment | None = None
    lifecycle: Stage | None = None
    tier: str | None = None
    as_of: date | None = None
    window_days: int | None = None

    @classmethod
    def of(cls, spec: SegmentSpec, today: date) -> SegmentSpecOut:
        if isinstance(spec, RfmSegmentSpec):
            return cls(
                rfm=spec.segment,
                as_of=spec.as_of or today,
                window_days=spec.window_days,
            )
        if isinstance(spec, LifecycleSegmentSpec):
            return cls(lifecycle=spec.stage, as_of=spec.as_of or today)
        return cls(tier=spec.tier_code)


class SegmentPreviewOut(Output, kw_only=True):
    segment: SegmentSpecOut
    members: int

    @classmethod
    def of(cls, preview: SegmentPreview) -> SegmentPreviewOut:
        return cls(segment=SegmentSpecOut.of(preview.spec, preview.today), members=preview.members)


# Follow-ups ----------------------------------------------------------------------------------


class FollowUpOut(Output, kw_only=True):
    id: int
    member_id: UUID
    sale_id: UUID
    receipt_id: str
    purchased_at: datetime
    amount: Annotated[int, Meta(description="the sale's payable amount, minor units")]
    due_on: date
    status: FollowUpStatus
    satisfaction: Annotated[int, Meta(ge=1, le=5)] | None
    outcome: str | None
    called_at: datetime | None
    called_by: str | None

    @classmethod
    def of(cls, view: FollowUpListing) -> FollowUpOut:
        f = view.follow_up
        return cls(
            id=f.id,
            member_id=f.member_id,
            sale_id=f.sale_id,
            receipt_id=view.receipt_id,
            purchased_at=view.purchased_at,
            amount=view.amount,
            due_on=f.due_on,
            status=f.status,
            satisfaction=f.satisfaction,
            outcome=f.outcome,
            called_at=f.called_at,
            called_by=f.called_by,
        )


class FollowUpPageOut(Page, kw_only=True):
    items: list[FollowUpOut]


class FollowUpCallIn(Input, kw_only=True):
    status: Annotated[
        Literal["reached", "unreachable", "declined"],
        Meta(description="how the call went: reached the member, no answer, or they declined"),
    ]
    satisfaction: (
        Annotated[int, Meta(ge=1, le=5, description="the member's satisfaction, only when reached")]
        | None
    ) = None
    outcome: Annotated[str, Meta(max_length=1000, description="the agent's notes")] | None = None
