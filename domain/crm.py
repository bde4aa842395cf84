"""CRM analytics rules: RFM scores and segments, lifecycle stages, and segment specs.

The reports compute these set-based in SQL (adapters/persistence/crm_reports.py); the
functions here are the definition the SQL is tested against, on small hand-computed fixtures
and on the real retail data.

RFM, over the ``window_days`` calendar days ending on ``as_of`` (inclusive, programme time
zone), for every member with at least one sale in the window:
recency = days from the last sale's date to as_of, frequency = number of sales, monetary =
sales minus refunds dated in the window. Each score is 1 + floor(5 x (rank - 1) / n), rank
being RANK() over the n scored members ordered by frequency ascending (F), monetary ascending
(M) and recency descending (R): ties share a rank, hence a score.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol, TypeVar
from uuid import UUID

from domain.errors import InvalidInput

DEFAULT_WINDOW_DAYS = 365
MAX_WINDOW_DAYS = 3660
MAX_THRESHOLD_DAYS = 3660
MAX_FOLLOW_UP_DAYS = 365


class RfmSegment(StrEnum):
    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL_LOYALISTS = "potential_loyalists"
    NEW_CUSTOMERS = "new_customers"
    PROMISING = "promising"
    NEED_ATTENTION = "need_attention"
    ABOUT_TO_SLEEP = "about_to_sleep"
    AT_RISK = "at_risk"
    CANT_LOSE_THEM = "cant_lose_them"
    HIBERNATING = "hibernating"
    LOST = "lost"


# (R scores, F scores) -> segment; together the rows cover all 25 (R, F) pairs exactly once.
SEGMENT_RULES: tuple[tuple[frozenset[int], frozenset[int], RfmSegment], ...] = (
    (frozenset({5}), frozenset({4, 5}), RfmSegment.CHAMPIONS),
    (frozenset({3, 4}), frozenset({4, 5}), RfmSegment.LOYAL),
    (frozenset({4, 5}), frozenset({2, 3}), RfmSegment.POTENTIAL_LOYALISTS),
    (frozenset({5}), frozenset({1}), RfmSegment.NEW_CUSTOMERS),
    (frozenset({4}), frozenset({1}), RfmSegment.PROMISING),
    (frozenset({3}), frozenset({3}), RfmSegment.NEED_ATTENTION),
    (frozenset({3}), frozenset({1, 2}), RfmSegment.ABOUT_TO_SLEEP),
    (frozenset({1, 2}), frozenset({3, 4}), RfmSegment.AT_RISK),
    (frozenset({1, 2}), frozenset({5}), RfmSegment.CANT_LOSE_THEM),
    (frozenset({2}), frozenset({1, 2}), RfmSegment.HIBERNATING),
    (frozenset({1}), frozenset({1, 2}), RfmSegment.LOST),
)


def score(rank: int, n: int) -> int:
    """1 + floor(5 x (rank - 1) / n): quintiles of the ranking, ties sharing a score."""
    if not 1 <= rank <= n:
        raise ValueError(f"rank {rank} is outside 1..{n}")
    return 1 + (5 * (rank - 1)) // n


def segment_of(r: int, f: int) -> RfmSegment:
    for recency_scores, frequency_scores, segment in SEGMENT_RULES:
        if r in recency_scores and f in frequency_scores:
            return segment
    raise ValueError(f"no segment for R{r} F{f}")


@dataclass(frozen=True, slots=True)
class RfmValues:
    recency_days: int
    frequency: int
    monetary: int  # minor units


@dataclass(frozen=True, slots=True)
class RfmScore:
    values: RfmValues
    r: int
    f: int
    m: int

    @property
    def segment(self) -> RfmSegment:
        return segment_of(self.r, self.f)


K = TypeVar("K", bound=Hashable)


def _ranks(values: Mapping[K, int], *, descending: bool) -> dict[K, int]:
    """SQL RANK(): 1 + the number of members strictly before, ties sharing the rank."""
    ordered = sorted(values.values(), reverse=descending)
    first: dict[int, int] = {}
    for position, value in enumerate(ordered, start=1):
        first.setdefault(value, position)
    return {key: first[value] for key, value in values.items()}


def score_members(members: Mapping[K, RfmValues]) -> dict[K, RfmScore]:
    n = len(members)
    r = _ranks({k: v.recency_days for k, v in members.items()}, descending=True)
    f = _ranks({k: v.frequency for k, v in members.items()}, descending=False)
    m = _ranks({k: v.monetary for k, v in members.items()}, descending=False)
    return {
        key: RfmScore(values, score(r[key], n), score(f[key], n), score(m[key], n))
        for key, values in members.items()
    }


def require_window_days(window_days: int) -> int:
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise InvalidInput(
            f"window_days must be between 1 and {MAX_WINDOW_DAYS}", field="window_days"
        )
    return window_days


# Lifecycle -------------------------------------------------------------------------------


class LifecycleStage(StrEnum):
    PROSPECT = "prospect"  # no sale yet
    NEW = "new"  # first sale less than new_days ago
    ACTIVE = "active"
    DORMANT = "dormant"  # no sale for dormant_days
    CHURNED = "churned"  # no sale for churned_days


@dataclass(frozen=True, slots=True)
class CrmSettings:
    """Lifecycle thresholds and the follow-up call delay, in days (programme settings)."""

    new_days: int = 30
    dormant_days: int = 90
    churned_days: int = 180
    follow_up_days: int = 7

    def __post_init__(self) -> None:
        if not 1 <= self.new_days <= self.dormant_days < self.churned_days <= MAX_THRESHOLD_DAYS:
            raise InvalidInput(
                "lifecycle thresholds must satisfy 1 <= new_days <= dormant_days < "
                f"churned_days <= {MAX_THRESHOLD_DAYS}",
                field="crm",
            )
        if not 1 <= self.follow_up_days <= MAX_FOLLOW_UP_DAYS:
            raise InvalidInput(
                f"follow_up_days must be between 1 and {MAX_FOLLOW_UP_DAYS}",
                field="crm.follow_up_days",
            )

    def stage(self, first_sale: date | None, last_sale: date | None, today: date) -> LifecycleStage:
        """A member's stage on ``today`` from the local dates of their first and last sale:
        prospect without a sale, else the stage of the first of STAGE_RULES that holds, else
        active."""
        if first_sale is None or last_sale is None:
            return LifecycleStage.PROSPECT
        days: dict[DaysSince, int] = {
            DAYS_SINCE_LAST_SALE: (today - last_sale).days,
            DAYS_SINCE_FIRST_SALE: (today - first_sale).days,
        }
        for rule in STAGE_RULES:
            threshold: int = getattr(self, rule.threshold)
            if rule.holds(days[rule.days_since], threshold):
                return rule.stage
        return LifecycleStage.ACTIVE


DaysSince = Literal["last_sale", "first_sale"]
Threshold = Literal["new_days", "dormant_days", "churned_days"]
DAYS_SINCE_LAST_SALE: DaysSince = "last_sale"
DAYS_SINCE_FIRST_SALE: DaysSince = "first_sale"


@dataclass(frozen=True, slots=True)
class StageRule:
    """``stage`` when the days since a member's first or last sale are at least (or, with
    ``under``, fewer than) one of the CrmSettings thresholds."""

    stage: LifecycleStage
    days_since: DaysSince
    threshold: Threshold  # the CrmSettings field
    under: bool = False

    def holds(self, days: int, threshold: int) -> bool:
        return days < threshold if self.under else days >= threshold


# In order: the first rule that holds gives the stage (a member quiet for churned_days is
# churned, not dormant); none: active. The SQL of the reports is generated from this table
# (adapters/persistence/crm_reports.py: stage_case).
STAGE_RULES: tuple[StageRule, ...] = (
    StageRule(LifecycleStage.CHURNED, DAYS_SINCE_LAST_SALE, "churned_days"),
    StageRule(LifecycleStage.DORMANT, DAYS_SINCE_LAST_SALE, "dormant_days"),
    StageRule(LifecycleStage.NEW, DAYS_SINCE_FIRST_SALE, "new_days", under=True),
)


# Segment specs: who a campaign reaches -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RfmSegmentSpec:
    segment: RfmSegment
    as_of: date | None = None  # default: today in the programme's time zone
    window_days: int = DEFAULT_WINDOW_DAYS


@dataclass(frozen=True, slots=True)
class LifecycleSegmentSpec:
    stage: LifecycleStage
    as_of: date | None = None


@dataclass(frozen=True, slots=True)
class TierSegmentSpec:
    tier_code: str


SegmentSpec = RfmSegmentSpec | LifecycleSegmentSpec | TierSegmentSpec
_KINDS = ("rfm", "lifecycle", "tier")


def parse_segment_spec(raw: Mapping[str, object]) -> SegmentSpec:
    """``{"rfm": "champions", "as_of"?: "YYYY-MM-DD", "window_days"?: 365}``,
    ``{"lifecycle": "dormant", "as_of"?: ...}`` or ``{"tier": "gold"}``: exactly one kind."""
    kinds = [k for k in _KINDS if raw.get(k) is not None]
    if len(kinds) != 1:
        raise InvalidInput("a segment names exactly one of rfm, lifecycle, tier", field="segment")
    kind = kinds[0]
    allowed = {"rfm": {"rfm", "as_of", "window_days"}, "lifecycle": {"lifecycle", "as_of"}}.get(
        kind, {"tier"}
    )
    extra = sorted(k for k, v in raw.items() if v is not None and k not in allowed)
    if extra:
        raise InvalidInput(f"{', '.join(extra)} cannot be used with {kind}", field=extra[0])
    value = raw[kind]
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{kind} must be a non-empty string", field=kind)
    as_of = _date(raw.get("as_of"))
    if kind == "rfm":
        try:
            segment = RfmSegment(value)
        except ValueError:
            raise InvalidInput(
                f"unknown RFM segment {value!r}; one of {', '.join(RfmSegment)}", field="rfm"
            ) from None
        window = raw.get("window_days", DEFAULT_WINDOW_DAYS)
        if window is None:
            window = DEFAULT_WINDOW_DAYS
        if not isinstance(window, int) or isinstance(window, bool):
            raise InvalidInput("window_days must be an integer", field="window_days")
        return RfmSegmentSpec(segment, as_of, require_window_days(window))
    if kind == "lifecycle":
        try:
            stage = LifecycleStage(value)
        except ValueError:
            raise InvalidInput(
                f"unknown lifecycle stage {value!r}; one of {', '.join(LifecycleStage)}",
                field="lifecycle",
            ) from None
        return LifecycleSegmentSpec(stage, as_of)
    return TierSegmentSpec(value)


def _date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput("as_of must be a date (YYYY-MM-DD)", field="as_of")


# Ports ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberCrmProfile:
    """What the 360 view shows: the member's stage on ``as_of``, and their RFM scores from
    the latest scoring (None when they were not scored, or nobody has been scored yet)."""

    as_of: date
    stage: LifecycleStage
    rfm: RfmScore | None
    rfm_as_of: date | None
    window_days: int | None
    rfm_computed_at: datetime | None = None  # when the snapshot holding the scores was taken


class SegmentResolver(Protocol):
    """Members in a segment, resolved set-based by the store that holds the sales."""

    async def count(self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings) -> int:
        """How many members the segment reaches (``today`` fills a missing as_of)."""
        ...

    async def member_ids(
        self, spec: SegmentSpec, *, today: date, zone: str, crm: CrmSettings
    ) -> Sequence[UUID]:
        """The members in the segment, ordered by id."""
        ...

    async def profile(
        self, member_id: UUID, *, today: date, zone: str, crm: CrmSettings
    ) -> MemberCrmProfile:
        """A member's lifecycle stage on ``today`` and RFM scores from the latest scoring."""
        ...
