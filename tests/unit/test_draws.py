from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from uuid import uuid4

import pytest

from domain.draws import (
    Chance,
    ChanceRule,
    ChanceStatus,
    DrawCampaign,
    Prize,
    chances_to_revoke,
    draw,
    odds,
)
from domain.errors import InvalidInput
from tests.support.fakes import SequenceRandom

START = datetime(2026, 6, 1, tzinfo=UTC)
PRIZES = (
    Prize("grand", "Grand prize", 1, stock=2),
    Prize("mug", "A mug", 9),
    Prize("thanks", "Thank you", 90),
)


def campaign(rule: ChanceRule = ChanceRule.ONE, prizes: tuple[Prize, ...] = PRIZES) -> DrawCampaign:
    return DrawCampaign(
        id=uuid4(),
        name="Summer wheel",
        threshold=20_000,
        chances=rule,
        chance_valid_days=30,
        starts_at=START,
        ends_at=START + timedelta(days=30),
        prizes=prizes,
    )


def test_a_purchase_reaching_the_threshold_earns_one_chance() -> None:
    wheel = campaign()
    assert wheel.chances_for(19_999) == 0
    assert wheel.chances_for(20_000) == 1
    assert wheel.chances_for(90_000) == 1


def test_per_multiple_earns_one_chance_per_whole_multiple() -> None:
    wheel = campaign(ChanceRule.PER_MULTIPLE)
    assert wheel.chances_for(39_999) == 1
    assert wheel.chances_for(60_000) == 3


def test_the_campaign_window_includes_its_start_and_excludes_its_end() -> None:
    wheel = campaign()
    assert wheel.runs_at(START)
    assert not wheel.runs_at(START - timedelta(microseconds=1))
    assert not wheel.runs_at(wheel.ends_at)


def test_published_odds_are_the_weights_over_their_sum() -> None:
    published = {o.code: o.probability for o in odds(PRIZES)}
    assert published == {
        "grand": Fraction(1, 100),
        "mug": Fraction(9, 100),
        "thanks": Fraction(90, 100),
    }


def test_a_prize_out_of_stock_drops_out_and_the_rest_are_renormalised() -> None:
    prizes = (Prize("grand", "Grand", 1, stock=0), *PRIZES[1:])
    published = {o.code: o.probability for o in odds(prizes)}
    assert published == {"grand": 0, "mug": Fraction(9, 99), "thanks": Fraction(90, 99)}
    rng = SequenceRandom(seed=3)
    assert all(draw(prizes, rng).code != "grand" for _ in range(2_000))  # type: ignore[union-attr]


def test_nothing_is_drawn_when_every_prize_is_out_of_stock() -> None:
    prizes = (Prize("grand", "Grand", 1, stock=0),)
    assert draw(prizes, SequenceRandom()) is None
    assert odds(prizes)[0].probability == 0


# Critical values of the chi-square distribution at p = 0.001, by degrees of freedom.
CHI_SQUARE_999 = {1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467}


def test_100000_draws_follow_the_published_odds_chi_square() -> None:
    prizes = (
        Prize("grand", "Grand", 5),
        Prize("mug", "Mug", 20),
        Prize("bag", "Bag", 25),
        Prize("thanks", "Thanks", 50),
    )
    rng = SequenceRandom(seed=20261123)
    n = 100_000
    counts = dict.fromkeys((p.code for p in prizes), 0)
    for _ in range(n):
        prize = draw(prizes, rng)
        assert prize is not None
        counts[prize.code] += 1
    published = {o.code: o.probability for o in odds(prizes)}
    statistic = sum((counts[code] - n * p) ** 2 / (n * p) for code, p in published.items())
    assert float(statistic) < CHI_SQUARE_999[len(prizes) - 1], counts


def test_a_skewed_draw_would_fail_the_same_chi_square_check() -> None:
    # The check has teeth: frequencies drawn with the weights of another campaign fail it.
    n = 100_000
    expected = {"a": Fraction(1, 2), "b": Fraction(1, 2)}
    observed = {"a": 51_000, "b": 49_000}
    statistic = sum((observed[c] - n * p) ** 2 / (n * p) for c, p in expected.items())
    assert float(statistic) > CHI_SQUARE_999[1]


def _chance(status: ChanceStatus, minutes: int) -> Chance:
    return Chance(
        id=uuid4(),
        campaign_id=uuid4(),
        member_id=uuid4(),
        sale_id=uuid4(),
        granted_at=START + timedelta(minutes=minutes),
        expires_at=START + timedelta(days=30),
        status=status,
    )


def test_a_refund_takes_back_unplayed_chances_before_played_ones() -> None:
    played = _chance(ChanceStatus.PLAYED, 0)
    unplayed = _chance(ChanceStatus.UNPLAYED, 1)
    assert chances_to_revoke([played, unplayed], entitled=1) == [unplayed]
    assert set(map(id, chances_to_revoke([played, unplayed], entitled=0))) == {
        id(played),
        id(unplayed),
    }


def test_chances_still_earned_are_kept_and_revoked_ones_are_not_counted_twice() -> None:
    revoked = _chance(ChanceStatus.REVOKED, 0)
    kept = _chance(ChanceStatus.UNPLAYED, 1)
    assert chances_to_revoke([revoked, kept], entitled=1) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"threshold": 0},
        {"ends_at": START},
        {"chance_valid_days": 0},
        {"prizes": ()},
        {"prizes": (Prize("a", "A", 1), Prize("a", "B", 1))},
    ],
)
def test_a_campaign_that_makes_no_sense_is_refused(changes: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "id": uuid4(),
        "name": "x",
        "threshold": 1,
        "chances": ChanceRule.ONE,
        "chance_valid_days": 1,
        "starts_at": START,
        "ends_at": START + timedelta(days=1),
        "prizes": PRIZES,
    }
    fields.update(changes)
    with pytest.raises(InvalidInput):
        DrawCampaign(**fields)  # type: ignore[arg-type]


def test_a_prize_needs_a_positive_weight() -> None:
    with pytest.raises(InvalidInput):
        Prize("a", "A", 0)
