"""The CRM SQL on a small hand-computed fixture (tests/unit/test_crm.py works it out), in the
Europe/London time zone: window boundaries, local days, refunds dated in the window."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from adapters.persistence.crm_reports import (
    churn_risk,
    lifecycle_report,
    regions_report,
    rfm_report,
    rfm_scores,
    segment_sql,
    snapshot_rfm,
    stage_case,
)
from adapters.persistence.follow_ups import schedule_follow_ups
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.reports import ChurnRiskQuery
from domain.crm import (
    CrmSettings,
    LifecycleSegmentSpec,
    LifecycleStage,
    RfmSegment,
    RfmSegmentSpec,
    TierSegmentSpec,
    score_members,
)
from domain.errors import InvalidInput
from tests.integration.factories import card_number
from tests.unit.test_crm import HAND_FIXTURE, HAND_SCORES

pytestmark = pytest.mark.db

LONDON = ZoneInfo("Europe/London")
ZONE = "Europe/London"
AS_OF = date(2024, 6, 30)


def local(day: date, at: time = time(12)) -> datetime:
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC)


@dataclass
class Shop:
    connection: asyncpg.Connection
    store_id: UUID
    members: dict[str, UUID]
    receipts: int = 0

    async def member(self, key: str, *, region: str | None = None, tier: str = "member") -> UUID:
        member_id = uuid4()
        self.members[key] = member_id
        await self.connection.execute(
            "INSERT INTO members (id, phone, tier_code, enrolled_at, region) "
            "VALUES ($1, NULL, $2, $3, $4)",
            member_id,
            tier,
            local(date(2020, 1, 1)),
            region,
        )
        await self.connection.execute(
            "INSERT INTO member_cards (card_number, member_id, status, issued_at) "
            "VALUES ($1, $2, 'active', now())",
            card_number(len(self.members)),
            member_id,
        )
        return member_id

    async def sale(
        self, key: str, at: datetime, amount: int, *, imported: bool = False, refunded: int = 0
    ) -> UUID:
        self.receipts += 1
        sale_id = uuid4()
        await self.connection.execute(
            "INSERT INTO sales (id, store_id, receipt_id, member_id, channel, currency, "
            "occurred_at, recorded_at, subtotal, payable, refunded_amount, imported_from) "
            "VALUES ($1, $2, $3, $4, 'pos', 'GBP', $5, $5, $6, $6, $7, $8)",
            sale_id,
            self.store_id,
            f"R{self.receipts}",
            self.members[key],
            at,
            amount,
            refunded,
            "online-retail" if imported else None,
        )
        return sale_id

    async def refund(self, key: str, sale_id: UUID, at: datetime, amount: int) -> None:
        self.receipts += 1
        await self.connection.execute(
            "INSERT INTO refunds (id, sale_id, member_id, refund_id, amount, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            uuid4(),
            sale_id,
            self.members[key],
            f"F{self.receipts}",
            amount,
            at,
        )


@pytest.fixture
async def shop(clean_db: str) -> AsyncIterator[Shop]:
    connection = await asyncpg.connect(clean_db)
    try:
        await connection.execute(
            "UPDATE program_settings SET currency = 'GBP', time_zone = $1", ZONE
        )
        store_id = uuid4()
        await connection.execute(
            "INSERT INTO stores (id, code, name, created_at) VALUES ($1, 'LON', 'London', now())",
            store_id,
        )
        yield Shop(connection, store_id, {})
    finally:
        await connection.close()


async def hand_fixture(shop: Shop) -> None:
    """The members of tests/unit/test_crm.py, as sales and refunds, plus edge cases."""
    await shop.member("A", region="United Kingdom")
    for _ in range(3):
        await shop.sale("A", local(date(2024, 6, 1)), 250)
    await shop.sale("A", local(AS_OF, time(23, 30)), 250)  # the last minutes of as_of
    await shop.sale("A", local(AS_OF + timedelta(days=1), time(0, 30)), 999)  # July 1st local
    await shop.member("B", region="United Kingdom")
    b = [await shop.sale("B", local(date(2024, 6, 20)), amount) for amount in (200, 200, 100)]
    await shop.refund("B", b[0], local(date(2023, 6, 1)), 100)  # dated before the window
    await shop.member("C", region="France")
    await shop.sale("C", local(date(2024, 6, 20)), 500)
    await shop.member("D", tier="gold")
    for _ in range(2):
        await shop.sale("D", local(date(2024, 3, 22)), 100)
    await shop.member("E")
    await shop.sale("E", local(date(2023, 9, 4)), 50)
    await shop.member("F")
    f = [await shop.sale("F", local(date(2023, 7, 2), time(0, 5)), 600) for _ in range(5)]
    await shop.refund("F", f[0], local(date(2023, 7, 10)), 500)
    await shop.sale("F", local(date(2023, 7, 1), time(23, 55)), 10_000)  # the day before
    await shop.member("G")
    await shop.sale("G", local(date(2023, 7, 1)), 70)  # only before the window: not scored
    await shop.member("H")  # a prospect


@pytest.fixture
async def tiers(shop: Shop) -> None:
    await shop.connection.execute(
        "INSERT INTO tiers (code, name, rank, threshold, earn_multiplier) VALUES "
        "('silver', 'Silver', 1, 1000, 1), ('gold', 'Gold', 2, 5000, 1.5), "
        "('platinum', 'Platinum', 3, 9000, 2)"
    )


async def test_sql_scores_the_hand_computed_fixture_as_worked_out_by_hand(
    shop: Shop, tiers: None
) -> None:
    await hand_fixture(shop)

    scores = await rfm_scores(shop.connection, zone=ZONE, as_of=AS_OF, window_days=365)

    by_key = {key: scores[m] for key, m in shop.members.items() if m in scores}
    assert {k: s.values for k, s in by_key.items()} == HAND_FIXTURE
    assert {k: (s.r, s.f, s.m, s.segment) for k, s in by_key.items()} == HAND_SCORES


async def test_the_sql_agrees_with_the_domain_definition_on_other_windows(
    shop: Shop, tiers: None
) -> None:
    await hand_fixture(shop)
    for as_of, window in ((AS_OF, 30), (AS_OF, 120), (date(2024, 1, 1), 365), (AS_OF, 3660)):
        scores = await rfm_scores(shop.connection, zone=ZONE, as_of=as_of, window_days=window)
        assert scores == score_members({k: v.values for k, v in scores.items()})


async def test_the_rfm_report_lists_every_segment_with_counts_and_averages(
    shop: Shop, tiers: None
) -> None:
    await hand_fixture(shop)

    report = await rfm_report(shop.connection, zone=ZONE, as_of=AS_OF, window_days=365)

    assert report.members_scored == 6
    assert [s.segment for s in report.segments] == list(RfmSegment)
    counts = {s.segment: s.members for s in report.segments if s.members}
    assert counts == {seg: 1 for *_, seg in HAND_SCORES.values()}
    champions = report.segments[0]
    assert (champions.share, champions.total_monetary, champions.avg_recency_days) == (
        Decimal("0.1667"),
        1000,
        0,
    )
    assert sum(s.total_monetary for s in report.segments) == 1000 + 500 + 500 + 200 + 50 + 2500


async def test_lifecycle_stages_and_flows_over_a_period(shop: Shop, tiers: None) -> None:
    await hand_fixture(shop)

    report = await lifecycle_report(
        shop.connection, zone=ZONE, start=date(2024, 6, 1), end=AS_OF + timedelta(days=1),
        crm=CrmSettings(),
    )  # fmt: skip

    assert report.at_end == {
        LifecycleStage.PROSPECT: 1,  # H
        LifecycleStage.NEW: 3,  # A, B, C
        LifecycleStage.ACTIVE: 0,
        LifecycleStage.DORMANT: 1,  # D: 100 days
        LifecycleStage.CHURNED: 3,  # E, F, G
    }
    # On May 31st: A, B, C had bought nothing yet; D was active (70 days); E 270 days quiet.
    assert report.at_start == {
        LifecycleStage.PROSPECT: 4,
        LifecycleStage.NEW: 0,
        LifecycleStage.ACTIVE: 1,
        LifecycleStage.DORMANT: 0,
        LifecycleStage.CHURNED: 3,
    }
    flows = {(f.from_stage, f.to_stage): f.members for f in report.flows}
    assert flows == {
        (LifecycleStage.PROSPECT, LifecycleStage.NEW): 3,
        (LifecycleStage.ACTIVE, LifecycleStage.DORMANT): 1,
    }


@pytest.mark.parametrize(
    "crm",
    [
        CrmSettings(),
        CrmSettings(new_days=1, dormant_days=1, churned_days=2),
        CrmSettings(7, 60, 61),
    ],
)
async def test_the_lifecycle_sql_gives_the_domain_stage_on_every_day_around_each_threshold(
    shop: Shop, crm: CrmSettings
) -> None:
    """The CASE is generated from STAGE_RULES; this pins it to CrmSettings.stage one member
    at a time, on each side of every threshold."""
    today = date(2026, 6, 15)
    near = sorted(
        {0, 1, 2}
        | {t + d for t in (crm.new_days, crm.dormant_days, crm.churned_days) for d in (-1, 0, 1)}
    )
    pairs: list[tuple[date | None, date | None]] = [(None, None)]
    pairs += [
        (today - timedelta(days=first), today - timedelta(days=last))
        for first in near
        for last in near
        if last <= first
    ]
    rows = await shop.connection.fetch(
        f"SELECT t.n, {stage_case('t.l', 't.f', '$3::date')} AS stage "
        "FROM unnest($1::date[], $2::date[]) WITH ORDINALITY AS t(f, l, n) ORDER BY t.n",
        [f for f, _ in pairs],
        [last for _, last in pairs],
        today,
        crm.new_days,
        crm.dormant_days,
        crm.churned_days,
    )
    assert [LifecycleStage(r["stage"]) for r in rows] == [
        crm.stage(first, last, today) for first, last in pairs
    ]
    assert {LifecycleStage(r["stage"]) for r in rows} == set(LifecycleStage)


async def test_thresholds_come_from_the_settings(shop: Shop, tiers: None) -> None:
    await hand_fixture(shop)
    crm = CrmSettings(new_days=5, dormant_days=200, churned_days=365)

    report = await lifecycle_report(
        shop.connection, zone=ZONE, start=AS_OF, end=AS_OF + timedelta(days=1), crm=crm
    )

    # A (first sale 29 days ago), B and C (10) and D (quiet for 100) are active; E (300) and
    # F (364) are dormant; G, quiet for 365 days, has churned.
    assert report.at_end == {
        LifecycleStage.PROSPECT: 1,
        LifecycleStage.NEW: 0,
        LifecycleStage.ACTIVE: 4,
        LifecycleStage.DORMANT: 2,
        LifecycleStage.CHURNED: 1,
    }


async def test_churn_warnings_list_valuable_members_who_just_went_dormant(
    shop: Shop, tiers: None
) -> None:
    await hand_fixture(shop)

    rows = await churn_risk(
        shop.connection, ChurnRiskQuery(ZONE, AS_OF, CrmSettings(), 365, within_days=30, limit=10)
    )

    # D went dormant 10 days ago and is on gold, one of the two tiers above the entry tier;
    # nobody else is dormant.
    assert [(r.member_id, r.top_tier, r.top_quintile) for r in rows] == [
        (shop.members["D"], True, False)
    ]
    assert rows[0].dormant_since == date(2024, 6, 20)
    assert rows[0].last_sale_on == date(2024, 3, 22)

    quieter = await churn_risk(
        shop.connection, ChurnRiskQuery(ZONE, AS_OF, CrmSettings(), 365, within_days=10, limit=10)
    )
    assert quieter == []  # dormant for 10 days: not within the last 10


async def test_regions_count_members_buyers_sales_and_net_spend(shop: Shop, tiers: None) -> None:
    await hand_fixture(shop)

    rows = await regions_report(
        shop.connection, zone=ZONE, first_day=date(2024, 6, 1), last_day=AS_OF
    )

    by_region = {r.region: (r.members, r.buyers, r.sales, r.net_spend) for r in rows}
    assert by_region == {
        "United Kingdom": (2, 2, 4 + 3, 1000 + 500),
        "France": (1, 1, 1, 500),
        None: (5, 0, 0, 0),
    }
    everything = await regions_report(shop.connection, zone=ZONE, first_day=None, last_day=None)
    unknown = next(r for r in everything if r.region is None)
    # D 200, E 50, F 3000 + 10000 - 500, G 70
    assert (unknown.buyers, unknown.sales, unknown.net_spend) == (4, 2 + 1 + 6 + 1, 12_820)


async def test_segments_resolve_inside_the_unit_of_work(
    shop: Shop, tiers: None, uow_factory: Callable[[], PostgresUnitOfWork]
) -> None:
    await hand_fixture(shop)
    crm = CrmSettings()
    await snapshot_rfm(
        shop.connection, zone=ZONE, as_of=AS_OF, window_days=365, now=datetime.now(UTC)
    )

    async with uow_factory() as uow:
        champions = await uow.segments.member_ids(
            RfmSegmentSpec(RfmSegment.CHAMPIONS, AS_OF), today=date(2030, 1, 1), zone=ZONE, crm=crm
        )
        new = await uow.segments.count(
            LifecycleSegmentSpec(LifecycleStage.NEW), today=AS_OF, zone=ZONE, crm=crm
        )
        gold = await uow.segments.member_ids(
            TierSegmentSpec("gold"), today=AS_OF, zone=ZONE, crm=crm
        )
        with pytest.raises(InvalidInput):
            await uow.segments.count(TierSegmentSpec("diamond"), today=AS_OF, zone=ZONE, crm=crm)
        profile = await uow.segments.profile(shop.members["F"], today=AS_OF, zone=ZONE, crm=crm)

    assert champions == [shop.members["A"]]
    assert new == 3
    assert gold == [shop.members["D"]]
    assert profile.rfm is not None
    assert (profile.rfm.segment, profile.stage, profile.rfm_as_of) == (
        RfmSegment.CANT_LOSE_THEM,
        LifecycleStage.CHURNED,
        AS_OF,
    )


async def test_the_rfm_snapshot_stores_everyones_scores_and_replaces_the_last(
    shop: Shop, tiers: None
) -> None:
    await hand_fixture(shop)
    now = datetime.now(UTC)

    first = await snapshot_rfm(shop.connection, zone=ZONE, as_of=AS_OF, window_days=365, now=now)
    later = date(2024, 9, 30)
    second = await snapshot_rfm(shop.connection, zone=ZONE, as_of=later, window_days=365, now=now)

    assert (first.members_scored, second.members_scored) == (6, 4)  # E and F left the window
    stored = await shop.connection.fetch("SELECT * FROM member_rfm_scores")
    assert {r["as_of"] for r in stored} == {later}
    live = await rfm_scores(shop.connection, zone=ZONE, as_of=later, window_days=365)
    assert {r["member_id"]: (r["r"], r["f"], r["m"], r["segment"]) for r in stored} == {
        k: (v.r, v.f, v.m, v.segment.value) for k, v in live.items()
    }


async def test_segment_sql_feeds_an_insert_select_once_per_member(shop: Shop, tiers: None) -> None:
    await hand_fixture(shop)
    sql, args = segment_sql(
        LifecycleSegmentSpec(LifecycleStage.CHURNED),
        today=AS_OF,
        zone=ZONE,
        crm=CrmSettings(),
        first_param=2,
    )
    await shop.connection.execute(
        "CREATE TEMPORARY TABLE issued "
        "(campaign text, member_id uuid, UNIQUE (campaign, member_id))"
    )
    insert = f"INSERT INTO issued SELECT $1, member_id FROM ({sql}) s ON CONFLICT DO NOTHING"

    first = await shop.connection.execute(insert, "win-back", *args)
    again = await shop.connection.execute(insert, "win-back", *args)

    assert (first, again) == ("INSERT 0 3", "INSERT 0 0")


async def test_follow_ups_are_scheduled_once_per_recent_member_sale(shop: Shop) -> None:
    await shop.member("A")
    today = date(2024, 7, 8)
    due = await shop.sale("A", local(date(2024, 7, 1), time(23, 59)), 100)
    await shop.sale("A", local(date(2024, 7, 2), time(0, 1)), 100)  # 6 days ago: not yet
    await shop.sale("A", local(date(2024, 6, 30)), 100, imported=True)  # history: never
    await shop.sale("A", local(date(2024, 6, 30)), 100, refunded=100)  # refunded in full
    late = await shop.sale("A", local(date(2024, 6, 25)), 100)  # a missed day, caught up
    await shop.sale("A", local(date(2024, 6, 24)), 100)  # beyond the catch-up

    first = await schedule_follow_ups(
        shop.connection, zone=ZONE, today=today, days=7, now=datetime.now(UTC)
    )
    again = await schedule_follow_ups(
        shop.connection, zone=ZONE, today=today, days=7, now=datetime.now(UTC)
    )

    assert (first.scheduled, again.scheduled) == (2, 0)
    scheduled = await shop.connection.fetch("SELECT sale_id, due_on, status FROM follow_ups")
    assert {(r["sale_id"], r["due_on"], r["status"]) for r in scheduled} == {
        (due, today, "pending"),
        (late, today, "pending"),
    }
