"""A draw campaign's definition can change only before it starts, and it can be ended early
only while it runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.draws import ChanceRule, DrawCampaign, Prize
from domain.errors import DrawCampaignNotRunning, DrawCampaignStarted

START = datetime(2026, 6, 1, tzinfo=UTC)
CAMPAIGN = DrawCampaign(
    id=UUID(int=1),
    name="Spring",
    threshold=10_000,
    chances=ChanceRule.ONE,
    chance_valid_days=30,
    starts_at=START,
    ends_at=START + timedelta(days=7),
    prizes=(Prize("mug", "A mug", 1),),
    created_at=START - timedelta(days=3),
)


def test_a_revision_before_the_start_keeps_the_campaigns_identity() -> None:
    definition = replace(CAMPAIGN, id=UUID(int=9), name="Autumn", created_at=None)

    revised = CAMPAIGN.revised(definition, START - timedelta(seconds=1))

    assert (revised.id, revised.created_at, revised.name) == (
        CAMPAIGN.id,
        CAMPAIGN.created_at,
        "Autumn",
    )


@pytest.mark.parametrize("at", [START, START + timedelta(days=1), START + timedelta(days=30)])
def test_a_started_or_finished_campaign_cannot_be_revised(at: datetime) -> None:
    with pytest.raises(DrawCampaignStarted):
        CAMPAIGN.revised(CAMPAIGN, at)


def test_ending_a_running_campaign_ends_it_then() -> None:
    at = START + timedelta(days=2)

    ended = CAMPAIGN.ended(at)

    assert ended.ends_at == at
    assert not ended.runs_at(at)
    assert ended.runs_at(at - timedelta(microseconds=1))


@pytest.mark.parametrize(
    "at", [START - timedelta(seconds=1), START + timedelta(days=7), START + timedelta(days=8)]
)
def test_a_campaign_not_running_cannot_be_ended(at: datetime) -> None:
    with pytest.raises(DrawCampaignNotRunning):
        CAMPAIGN.ended(at)


def test_a_campaign_ended_at_the_instant_it_started_keeps_a_window_of_a_microsecond() -> None:
    ended = CAMPAIGN.ended(START)

    assert ended.ends_at == START + timedelta(microseconds=1)
