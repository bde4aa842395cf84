"""The back office's reports: ports for the set-based reads, and their plain results.

Each report reads many members at once, so its SQL lives in adapters/persistence
(points_liability.py, crm_reports.py, tier_simulation.py), behind these Protocols; a
controller asks a port and turns the frozen result into its response. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from domain.crm import CrmSettings, LifecycleStage, RfmSegment, SegmentSpec
from domain.tier_policy import TierPolicy

T = TypeVar("T")

# Points liability ----------------------------------------------------------------------------

RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Outstanding:
    available: int
    pending: int
    debt: int


@dataclass(frozen=True, slots=True)
class ExpiryMonth:
    month: str  # YYYY-MM in the programme's time zone, or "never"
    points: int


@dataclass(frozen=True, slots=True)
class Flows:
    """Sums of the period's entries by type, signed as stored (debits are negative)."""

    earned: int = 0
    redeemed: int = 0
    expired: int = 0
    reversed: int = 0
    restored: int = 0
    adjusted: int = 0
    # Of redeemed and restored: the points spent on catalogue rewards, net of cancellations
    # (a breakdown, not a further flow: it is not added to ``net`` again).
    spent_on_rewards: int = 0

    @property
    def net(self) -> int:
        return (
            self.earned
            + self.redeemed
            + self.expired
            + self.reversed
            + self.restored
            + self.adjusted
        )


@dataclass(frozen=True, slots=True)
class PointsLiability:
    outstanding: Outstanding
    by_expiry_month: list[ExpiryMonth]
    flows: Flows


def breakage_rate(flows: Flows) -> Decimal | None:
    """Expired over earned, floored to 4 places; None when nothing was earned."""
    if flows.earned <= 0:
        return None
    rate = Decimal(-flows.expired) / Decimal(flows.earned)
    return rate.quantize(RATE_PLACES, rounding=ROUND_DOWN)


class LiabilityReports(Protocol):
    async def points_liability(self, *, time_zone: str, start: date, end: date) -> PointsLiability:
        """Outstanding points now, available points by expiry month, and the flows of
        [start, end) (local dates in ``time_zone``), all from one snapshot."""
        ...


# CRM -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentRow:
    segment: RfmSegment
    members: int
    share: Decimal  # of the scored members, 4 places
    avg_recency_days: Decimal
    avg_frequency: Decimal
    avg_monetary: Decimal
    total_monetary: int
    avg_r: Decimal
    avg_f: Decimal
    avg_m: Decimal


@dataclass(frozen=True, slots=True)
class RfmReport:
    as_of: date
    window_days: int
    members_scored: int
    segments: list[SegmentRow]  # every segment, in the order of RfmSegment


@dataclass(frozen=True, slots=True)
class StageFlow:
    from_stage: LifecycleStage | None  # None: enrolled during the period
    to_stage: LifecycleStage
    members: int


@dataclass(frozen=True, slots=True)
class LifecycleReport:
    start: date  # stages at the end of the day before the period ...
    end: date  # ... and at the end of its last day
    at_start: dict[LifecycleStage, int]
    at_end: dict[LifecycleStage, int]
    flows: list[StageFlow]  # members who changed stage (or joined), by pair


@dataclass(frozen=True, slots=True)
class ChurnRisk:
    member_id: UUID
    tier_code: str
    last_sale_on: date
    dormant_since: date
    monetary: int
    m_score: int | None
    top_quintile: bool
    top_tier: bool


@dataclass(frozen=True, slots=True)
class RegionRow:
    region: str | None
    members: int
    buyers: int
    sales: int
    net_spend: int


@dataclass(frozen=True, slots=True)
class ChurnRiskQuery:
    """Members who became dormant in the last ``within_days`` days and are in the top monetary
    quintile (M score 5 over the ``window_days`` ending ``today``) or on one of the two highest
    tiers above the entry tier; most valuable first, from after the (monetary, member) cursor."""

    zone: str
    today: date
    crm: CrmSettings
    window_days: int
    within_days: int
    limit: int
    after: tuple[int, UUID] | None = None


class CrmReports(Protocol):
    async def rfm(self, *, zone: str, as_of: date, window_days: int) -> RfmReport: ...

    async def lifecycle(
        self, *, zone: str, start: date, end: date, crm: CrmSettings
    ) -> LifecycleReport:
        """Stages at the start of [start, end) (end of the day before) and at its end (end
        of the last day), and how many members moved from each stage to each other."""
        ...

    async def churn_risk(self, query: ChurnRiskQuery) -> Sequence[ChurnRisk]: ...

    async def regions(
        self, *, zone: str, first_day: date | None, last_day: date | None
    ) -> Sequence[RegionRow]: ...


# Tier simulation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TierSimulation:
    members: int
    per_tier: dict[str, int]  # members who would qualify for each proposed tier
    moving_up: int
    moving_down: int
    current_points: int  # points the window's spend earned at today's multipliers
    proposed_points: int  # ... at the proposed ones
    current_points_per_month: int
    proposed_points_per_month: int
    # Per proposed tier: members it would take up into it, and members it would place in it
    # below their current tier (a review moves them down once their grace period has run out).
    up_per_tier: dict[str, int] = field(default_factory=dict)
    down_per_tier: dict[str, int] = field(default_factory=dict)

    @property
    def points_per_month_change(self) -> int:
        return self.proposed_points_per_month - self.current_points_per_month


def per_month(points: int, window_days: int) -> int:
    """points / (window_days / 30.4375), floored: 30.4375 days is the mean Gregorian month."""
    exact = Decimal(points) * Decimal("30.4375") / Decimal(window_days)
    return int(exact.to_integral_value(rounding=ROUND_FLOOR))


class TierSimulations(Protocol):
    async def simulate_tiers(
        self, policy: TierPolicy, *, now: datetime, earn_rate: Decimal, currency_exponent: int
    ) -> TierSimulation:
        """What ``policy`` would do to today's members, read-only: everyone placed on the
        tier their spend over the proposed window ending at ``now`` qualifies for (no grace,
        no manual tiers), moves by rank, points at current and proposed multipliers."""
        ...


# The audit log -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str  # "admin:<subject>", "pos:<terminal>", "system:<job>", ...
    action: str  # "program.updated", "member.erased", ...
    subject: str  # "program", "member:<uuid>", ...: the entity, with its id when it has one
    details: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Entries newest first, before the ``before_id`` cursor. ``entity`` is the kind of
    subject (``member``), ``entity_id`` narrows it to one; the period is the local days
    [first_day, last_day] in ``zone``, either bound open."""

    zone: str
    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    first_day: date | None = None
    last_day: date | None = None
    before_id: int | None = None
    limit: int = 50


class AuditReports(Protocol):
    async def audit_log(self, query: AuditQuery) -> Sequence[AuditEntry]: ...


# Snapshots for the console: what a page load reads instead of a scan --------------------------


@dataclass(frozen=True, slots=True)
class Standing:
    """The programme's standing at a snapshot: points owed and members per tier."""

    available: int
    pending: int
    debt: int
    members_per_tier: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class DashboardDay:
    """One local day's figures (a day's points and coupons by the local day they happened)."""

    day: date
    members_total: int  # enrolled by the end of the day
    members_new: int  # enrolled during it
    sales: int
    sales_amount: int  # minor units, what was payable
    points_earned: int
    points_redeemed: int  # positive
    coupons_issued: int
    coupons_redeemed: int
    draw_plays: int
    complete: bool  # computed after the day ended
    computed_at: datetime
    standing: Standing | None  # the last snapshot taken on that day, if any


@dataclass(frozen=True, slots=True)
class RfmCell:
    r: int
    f: int
    members: int
    monetary: int  # the members' spend over the window, summed


@dataclass(frozen=True, slots=True)
class RfmGrid:
    """The RFM snapshot's members counted per (R, F) cell (``loyalty jobs score-rfm``)."""

    as_of: date
    window_days: int
    computed_at: datetime
    cells: list[RfmCell]  # only cells with members

    @property
    def members_scored(self) -> int:
        return sum(cell.members for cell in self.cells)


@dataclass(frozen=True, slots=True)
class Snapshotted(Generic[T]):
    """A report's result as the snapshot job stored it, and when."""

    computed_at: datetime
    report: T


@dataclass(frozen=True, slots=True)
class RegionsReport:
    first_day: date
    last_day: date
    rows: list[RegionRow]


@dataclass(frozen=True, slots=True)
class ChurnSnapshot:
    as_of: date  # the RFM snapshot's day: "today" of the warnings
    computed_at: datetime
    rows: list[ChurnRisk]


class SnapshotReports(Protocol):
    async def dashboard_days(self, *, first_day: date, last_day: date) -> Sequence[DashboardDay]:
        """The stored days in [first_day, last_day], oldest first (days never snapshotted are
        missing)."""
        ...

    async def rfm_grid(self) -> RfmGrid | None:
        """The cells of the latest RFM snapshot; None before the first."""
        ...

    async def rfm_cell_members(
        self, *, r: int, f: int, limit: int, after: tuple[int, UUID] | None
    ) -> Sequence[ScoredMember]:
        """The cell's members in the latest RFM snapshot, most valuable first (monetary,
        then member id, both descending), after the (monetary, member id) cursor."""
        ...

    async def lifecycle_snapshot(self) -> Snapshotted[LifecycleReport] | None: ...

    async def churn_risk_snapshot(
        self, *, crm: CrmSettings, within_days: int, limit: int, after: tuple[int, UUID] | None
    ) -> ChurnSnapshot | None:
        """The churn warnings (as ``ChurnRiskQuery``) as of the latest RFM snapshot's day,
        from its stored scores: members it scored (a sale within its window) only."""
        ...

    async def regions_snapshot(self) -> Snapshotted[RegionsReport] | None: ...


# Exports: whole lists, streamed from one snapshot ----------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoredMember:
    member_id: UUID
    name: str | None
    tier_code: str
    recency_days: int
    frequency: int
    monetary: int
    r: int
    f: int
    m: int
    segment: RfmSegment


@dataclass(frozen=True, slots=True)
class SegmentMember:
    member_id: UUID
    name: str | None
    tier_code: str
    enrolled_at: datetime


class ListExports(Protocol):
    """Lists too long for one answer, row by row from a server-side cursor in one
    read-only snapshot: a caller streams them out as they come, never holding the list."""

    def rfm_members(
        self, *, zone: str, as_of: date, window_days: int, segment: RfmSegment | None
    ) -> AsyncIterator[ScoredMember]:
        """Every member scored over the window, most valuable (monetary) first."""
        ...

    def segment_members(
        self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings
    ) -> AsyncIterator[SegmentMember]:
        """Every member in the segment (as ``SegmentResolver.member_ids``), by id."""
        ...

    def churn_risk_all(self, query: ChurnRiskQuery) -> AsyncIterator[ChurnRisk]:
        """The whole churn-risk list (``query.limit`` and ``query.after`` are ignored)."""
        ...


class Reports(
    LiabilityReports,
    CrmReports,
    TierSimulations,
    AuditReports,
    ListExports,
    SnapshotReports,
    Protocol,
):
    """Every report, as the back office's controllers ask for them."""
