"""CRM rules: RFM scores and segments, lifecycle stages, segment specs, follow-up calls."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import product
from uuid import UUID

import pytest

from domain.crm import (
    SEGMENT_RULES,
    CrmSettings,
    LifecycleSegmentSpec,
    LifecycleStage,
    RfmSegment,
    RfmSegmentSpec,
    RfmValues,
    TierSegmentSpec,
    parse_segment_spec,
    score,
    score_members,
    segment_of,
)
from domain.errors import InvalidInput
from domain.follow_ups import FollowUp, FollowUpStatus

# The hand-computed fixture (as of 2024-06-30, window 365 days, n = 6):
#   member  recency  frequency  monetary   R rank  F rank  M rank   R F M   segment
#   A          0        4         1000       6       5       5      5 4 4   champions
#   B         10        3          500       4       4       3      3 3 2   need_attention
#   C         10        1          500       4       1       3      3 1 2   about_to_sleep
#   D        100        2          200       3       3       2      2 2 1   hibernating
#   E        300        1           50       2       1       1      1 1 1   lost
#   F        364        5         2500       1       6       6      1 5 5   cant_lose_them
# score = 1 + floor(5 (rank - 1) / 6): ranks 1, 2 -> 1; 3 -> 2; 4 -> 3; 5 -> 4; 6 -> 5.
HAND_FIXTURE = {
    "A": RfmValues(0, 4, 1000),
    "B": RfmValues(10, 3, 500),
    "C": RfmValues(10, 1, 500),
    "D": RfmValues(100, 2, 200),
    "E": RfmValues(300, 1, 50),
    "F": RfmValues(364, 5, 2500),
}
HAND_SCORES = {
    "A": (5, 4, 4, RfmSegment.CHAMPIONS),
    "B": (3, 3, 2, RfmSegment.NEED_ATTENTION),
    "C": (3, 1, 2, RfmSegment.ABOUT_TO_SLEEP),
    "D": (2, 2, 1, RfmSegment.HIBERNATING),
    "E": (1, 1, 1, RfmSegment.LOST),
    "F": (1, 5, 5, RfmSegment.CANT_LOSE_THEM),
}


def test_the_hand_computed_fixture_scores_and_segments_as_worked_out_by_hand() -> None:
    scores = score_members(HAND_FIXTURE)
    assert {k: (s.r, s.f, s.m, s.segment) for k, s in scores.items()} == HAND_SCORES


def test_a_score_is_the_quintile_of_the_rank() -> None:
    assert [score(rank, 10) for rank in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert score(1, 1) == 1
    with pytest.raises(ValueError):
        score(0, 5)


def test_ties_share_a_rank_and_so_a_score() -> None:
    members = {i: RfmValues(5, 1 if i < 4 else 2, 100) for i in range(5)}
    scores = score_members(members)
    # four members tie on frequency 1 (rank 1 -> F1), one has 2 (rank 5 -> F5)
    assert [scores[i].f for i in range(5)] == [1, 1, 1, 1, 5]
    # everybody ties on recency and monetary: rank 1 for all
    assert {(s.r, s.m) for s in scores.values()} == {(1, 1)}


def test_recency_ranks_the_longest_quiet_first_so_recent_buyers_score_high() -> None:
    scores = score_members({"old": RfmValues(300, 1, 1), "recent": RfmValues(1, 1, 1)})
    assert (scores["old"].r, scores["recent"].r) == (1, 3)


def test_every_r_f_pair_has_exactly_one_segment() -> None:
    for r, f in product(range(1, 6), repeat=2):
        matching = [seg for rs, fs, seg in SEGMENT_RULES if r in rs and f in fs]
        assert len(matching) == 1, (r, f, matching)


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, RfmSegment.CHAMPIONS),
        (5, 4, RfmSegment.CHAMPIONS),
        (4, 5, RfmSegment.LOYAL),
        (3, 4, RfmSegment.LOYAL),
        (5, 2, RfmSegment.POTENTIAL_LOYALISTS),
        (4, 3, RfmSegment.POTENTIAL_LOYALISTS),
        (5, 1, RfmSegment.NEW_CUSTOMERS),
        (4, 1, RfmSegment.PROMISING),
        (3, 3, RfmSegment.NEED_ATTENTION),
        (3, 2, RfmSegment.ABOUT_TO_SLEEP),
        (2, 4, RfmSegment.AT_RISK),
        (1, 3, RfmSegment.AT_RISK),
        (2, 5, RfmSegment.CANT_LOSE_THEM),
        (2, 1, RfmSegment.HIBERNATING),
        (1, 2, RfmSegment.LOST),
    ],
)
def test_segments_follow_the_r_f_table(r: int, f: int, segment: RfmSegment) -> None:
    assert segment_of(r, f) is segment


TODAY = date(2024, 6, 30)


@pytest.mark.parametrize(
    ("first_ago", "last_ago", "stage"),
    [
        (None, None, LifecycleStage.PROSPECT),
        (0, 0, LifecycleStage.NEW),
        (29, 0, LifecycleStage.NEW),
        (30, 0, LifecycleStage.ACTIVE),
        (200, 89, LifecycleStage.ACTIVE),
        (200, 90, LifecycleStage.DORMANT),
        (200, 179, LifecycleStage.DORMANT),
        (200, 180, LifecycleStage.CHURNED),
    ],
)
def test_lifecycle_stages_change_on_the_threshold_day(
    first_ago: int | None, last_ago: int | None, stage: LifecycleStage
) -> None:
    def ago(days: int | None) -> date | None:
        return None if days is None else date.fromordinal(TODAY.toordinal() - days)

    assert CrmSettings().stage(ago(first_ago), ago(last_ago), TODAY) is stage


def test_lifecycle_thresholds_must_be_in_order() -> None:
    CrmSettings(new_days=90, dormant_days=90, churned_days=91)
    for bad in (
        {"new_days": 0},
        {"new_days": 100, "dormant_days": 90},
        {"dormant_days": 180, "churned_days": 180},
        {"churned_days": 4000},
        {"follow_up_days": 0},
    ):
        with pytest.raises(InvalidInput):
            CrmSettings(**bad)  # type: ignore[arg-type]


def test_segment_specs_name_exactly_one_kind() -> None:
    assert parse_segment_spec({"rfm": "champions"}) == RfmSegmentSpec(RfmSegment.CHAMPIONS)
    assert parse_segment_spec(
        {"rfm": "lost", "as_of": "2011-12-10", "window_days": 180}
    ) == RfmSegmentSpec(RfmSegment.LOST, date(2011, 12, 10), 180)
    assert parse_segment_spec({"lifecycle": "dormant"}) == LifecycleSegmentSpec(
        LifecycleStage.DORMANT
    )
    assert parse_segment_spec({"tier": "gold"}) == TierSegmentSpec("gold")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "segment"),
        ({"rfm": "champions", "tier": "gold"}, "segment"),
        ({"rfm": "best"}, "rfm"),
        ({"lifecycle": "sleeping"}, "lifecycle"),
        ({"rfm": "lost", "window_days": 0}, "window_days"),
        ({"rfm": "lost", "window_days": "7"}, "window_days"),
        ({"rfm": "lost", "as_of": "10/12/2011"}, "as_of"),
        ({"tier": "gold", "as_of": "2011-12-10"}, "as_of"),
        ({"lifecycle": "new", "window_days": 30}, "window_days"),
        ({"tier": ""}, "tier"),
    ],
)
def test_a_bad_segment_spec_names_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_segment_spec(raw)
    assert caught.value.field == field


AT = datetime(2024, 7, 7, 10, tzinfo=UTC)


def follow_up() -> FollowUp:
    return FollowUp(1, UUID(int=1), UUID(int=2), date(2024, 7, 7))


def test_a_reached_member_can_give_a_satisfaction_score() -> None:
    f = follow_up()
    f.record_call(
        FollowUpStatus.REACHED, satisfaction=4, outcome="  happy  ", actor="admin:ann", at=AT
    )
    assert (f.status, f.satisfaction, f.outcome, f.called_by, f.called_at) == (
        FollowUpStatus.REACHED,
        4,
        "happy",
        "admin:ann",
        AT,
    )


def test_satisfaction_needs_a_member_who_was_reached() -> None:
    with pytest.raises(InvalidInput) as caught:
        follow_up().record_call(
            FollowUpStatus.UNREACHABLE, satisfaction=3, outcome=None, actor="a", at=AT
        )
    assert caught.value.field == "satisfaction"


@pytest.mark.parametrize("satisfaction", [0, 6])
def test_satisfaction_is_between_one_and_five(satisfaction: int) -> None:
    with pytest.raises(InvalidInput):
        follow_up().record_call(
            FollowUpStatus.REACHED, satisfaction=satisfaction, outcome=None, actor="a", at=AT
        )


def test_a_call_cannot_be_recorded_as_still_pending() -> None:
    with pytest.raises(InvalidInput):
        follow_up().record_call(
            FollowUpStatus.PENDING, satisfaction=None, outcome=None, actor="a", at=AT
        )


def test_recording_again_corrects_the_call() -> None:
    f = follow_up()
    f.record_call(
        FollowUpStatus.UNREACHABLE, satisfaction=None, outcome="no answer", actor="a", at=AT
    )
    f.record_call(FollowUpStatus.REACHED, satisfaction=5, outcome=None, actor="b", at=AT)
    assert (f.status, f.satisfaction, f.outcome, f.called_by) == (
        FollowUpStatus.REACHED,
        5,
        None,
        "b",
    )
