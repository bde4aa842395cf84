"""The reward catalogue and guest sale claims on PostgreSQL: the races (the last item of a
stock, two claims of one sale), and a ledger that still verifies after redemptions and
cancellations, with the liability report showing the points spent on rewards."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar
from uuid import UUID, uuid4

import asyncpg
import pytest

from adapters.persistence.ledger_audit import verify_ledger
from adapters.persistence.points_liability import points_liability
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.use_cases.coupon_templates import TemplateDefinition, create_template
from app.use_cases.guest_claims import ClaimWithCode, claim_guest_sale, record_sale_with_claim_code
from app.use_cases.reward_catalogue import (
    CancelRedemption,
    RedeemReward,
    cancel_redemption,
    create_reward,
    redeem_reward,
)
from app.use_cases.sales import LineInput, RecordSale, record_sale
from app.wiring.cli import main
from domain.coupon_codes import display
from domain.coupons import CouponKind, CouponTerms, Validity
from domain.errors import RewardNotRedeemable, SaleAlreadyClaimed
from domain.program import DEFAULT_PROGRAM, ExpiryKind, PointsExpiryRule
from domain.reward_catalogue import CatalogueRewardKind, RewardOffer
from domain.sale_dating import SaleDating
from tests.integration.factories import T0, a_member, a_store
from tests.support.fakes import FixedClock, SequenceRandom, SequentialIds
from tests.support.overlap import race

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]
T = TypeVar("T")
ADMIN = "admin:test"
POOL = 10  # the engine's connections (tests/integration/conftest.py)


async def outcome(call: Awaitable[T]) -> T | Exception:
    try:
        return await call
    except Exception as error:
        return error


class Shop:
    def __init__(self, uow_factory: UowFactory) -> None:
        self.uow_factory = uow_factory
        self.clock = FixedClock(T0 + timedelta(days=1))
        self.ids = SequentialIds(5000)
        self.random = SequenceRandom()
        self.store = a_store()

    async def open(self, members: int) -> list[UUID]:
        people = [a_member(f"+86138001{n:05d}", card=n + 1) for n in range(members)]
        async with self.uow_factory() as uow:
            await uow.stores.add_store(self.store)
            await uow.program.save(
                replace(DEFAULT_PROGRAM, points_expiry=PointsExpiryRule(ExpiryKind.DAYS, 90))
            )
            for member in people:
                await uow.members.add(member)
                await uow.points.open_account(member.id)
            await uow.commit()
        return [m.id for m in people]

    async def sell(self, member: UUID | None, receipt: str, amount: int) -> str | None:
        async with self.uow_factory() as uow:
            recorded = await record_sale_with_claim_code(
                RecordSale(
                    store_id=self.store.id,
                    terminal_id=None,
                    receipt_id=receipt,
                    lines=[LineInput("DUVET", 1, amount)],
                    member_id=member,
                ),
                uow,
                clock=self.clock,
                ids=self.ids,
                dating=SaleDating(),
                random=self.random,
            )
            await uow.commit()
        return recorded.claim_code

    async def reward(self, **changes: object) -> UUID:
        offer = replace(
            RewardOffer(name="Lamp", kind=CatalogueRewardKind.ITEM, points_cost=300, stock=1),
            **changes,  # type: ignore[arg-type]
        )
        async with self.uow_factory() as uow:
            reward = await create_reward(offer, ADMIN, uow, clock=self.clock, ids=self.ids)
            await uow.commit()
        return reward.id

    async def redeem(self, member: UUID, reward: UUID) -> UUID:
        async with self.uow_factory() as uow:
            redeemed = await redeem_reward(
                RedeemReward(member, reward),
                uow,
                clock=self.clock,
                # Ids of their own: concurrent redemptions must not draw the same.
                ids=_Uuid4s(),
                random=self.random,
            )
            await uow.commit()
        return redeemed.redemption.id


class _Uuid4s:
    def new_id(self) -> UUID:
        return uuid4()


async def available(uow_factory: UowFactory, member: UUID) -> int:
    async with uow_factory() as uow:
        return (await uow.points.get(member)).available


async def test_twenty_members_redeeming_the_last_item_at_once_give_one_success(
    uow_factory: UowFactory, db_url: str, clean_db: str
) -> None:
    shop = Shop(uow_factory)
    members = await shop.open(20)
    for n, member in enumerate(members):
        await shop.sell(member, f"R-{n}", 50_000)  # 500 points each
    reward = await shop.reward(stock=1)

    outcomes, waits = await race(
        clean_db,
        [outcome(shop.redeem(member, reward)) for member in members],
        gate="catalogue_rewards",
        queued=POOL,
    )

    waits.assert_overlapped("twenty redemptions of the last item", at_least=POOL)
    won = [o for o in outcomes if isinstance(o, UUID)]
    refused = [o for o in outcomes if isinstance(o, RewardNotRedeemable)]
    assert len(won) == 1, outcomes
    assert len(refused) == 19, outcomes
    assert {r.reason for r in refused} == {"out_of_stock"}
    balances = [await available(uow_factory, m) for m in members]
    assert sorted(balances) == [200] + [500] * 19
    async with uow_factory() as uow:
        stored = await uow.catalogue.get(reward)
    assert stored is not None
    assert (stored.redeemed, stored.stock_left) == (1, 0)


async def test_two_claims_of_one_guest_sale_at_once_give_it_to_one_member(
    uow_factory: UowFactory, clean_db: str
) -> None:
    shop = Shop(uow_factory)
    first, second = await shop.open(2)
    code = await shop.sell(None, "G-1", 12_345)
    assert code is not None

    async def claim(member: UUID) -> int:
        async with uow_factory() as uow:
            claimed = await claim_guest_sale(
                ClaimWithCode(member, code), uow, clock=shop.clock, ids=shop.ids
            )
            await uow.commit()
        return claimed.points_earned

    outcomes, waits = await race(
        clean_db, [outcome(claim(first)), outcome(claim(second))], gate="sales"
    )

    waits.assert_overlapped("two claims of one sale", at_least=2)
    assert sorted(type(o).__name__ for o in outcomes) == ["SaleAlreadyClaimed", "int"]
    assert 123 in outcomes
    assert any(isinstance(o, SaleAlreadyClaimed) for o in outcomes)
    balances = sorted([await available(uow_factory, first), await available(uow_factory, second)])
    assert balances == [0, 123]


async def test_the_ledger_verifies_after_redemptions_cancellations_and_claims_and_the_liability_shows_rewards(  # noqa: E501
    uow_factory: UowFactory,
    clean_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shop = Shop(uow_factory)
    saver, spender = await shop.open(2)
    await shop.sell(spender, "R-1", 20_000)  # 200 points, expiring first
    shop.clock.advance(days=5)
    await shop.sell(spender, "R-2", 50_000)  # 500 more
    code = await shop.sell(None, "G-1", 30_000)
    assert code is not None
    async with uow_factory() as uow:
        await claim_guest_sale(ClaimWithCode(saver, code), uow, clock=shop.clock, ids=shop.ids)
        await uow.commit()
    lamp = await shop.reward(stock=5, points_cost=300)
    cancelled = await shop.redeem(spender, lamp)  # 200 of the older lot, 100 of the newer
    kept = await shop.redeem(spender, lamp)
    await shop.redeem(saver, lamp)
    shop.clock.advance(days=1)
    async with uow_factory() as uow:
        await cancel_redemption(
            CancelRedemption(cancelled, ADMIN, "out of lamps"), uow, clock=shop.clock
        )
        await uow.commit()
    assert kept != cancelled
    assert await available(uow_factory, spender) == 400
    assert await available(uow_factory, saver) == 0

    connection = await asyncpg.connect(clean_db)
    try:
        report = await verify_ledger(connection)
        liability = await points_liability(
            connection,
            time_zone="UTC",
            start=T0.date(),
            end=(T0 + timedelta(days=30)).date(),
        )
        restored_expiries = await connection.fetch(
            "SELECT expires_at, points FROM points_lots WHERE reference = $1 ORDER BY expires_at",
            f"reward_cancel:{cancelled}",
        )
        sale_expiries = await connection.fetch(
            "SELECT DISTINCT expires_at FROM points_lots WHERE reference LIKE 'sale:%' "
            "ORDER BY expires_at"
        )
    finally:
        await connection.close()
    assert report.ok, report.mismatches
    # 900 redeemed, 300 given back: 600 spent on rewards.
    assert liability.flows.redeemed == -900
    assert liability.flows.restored == 300
    assert liability.flows.spent_on_rewards == 600
    # Given back with the expiries they were taken from: the older lot's 200 and 100 of the
    # newer one.
    assert [(r["expires_at"], r["points"]) for r in restored_expiries] == [
        (sale_expiries[0]["expires_at"], 200),
        (sale_expiries[1]["expires_at"], 100),
    ]

    monkeypatch.setenv("DATABASE_URL", clean_db)
    code_ = await asyncio.to_thread(main, ["ledger", "verify"])
    out = capsys.readouterr().out
    assert code_ == 0, out
    assert out.strip().endswith("lots checked, 0 mismatches")


async def test_a_cancellation_and_a_till_redeeming_the_rewards_coupon_at_once_one_wins(
    uow_factory: UowFactory, clean_db: str
) -> None:
    shop = Shop(uow_factory)
    [member] = await shop.open(1)
    await shop.sell(member, "R-1", 50_000)  # 500 points
    async with uow_factory() as uow:
        voucher = await create_template(
            TemplateDefinition(
                name="10 off",
                terms=CouponTerms(CouponKind.FIXED, 1_000, channels=frozenset({"pos", "web"})),
                validity=Validity(valid_days=30),
            ),
            ADMIN,
            uow,
            clock=shop.clock,
            ids=shop.ids,
        )
        await uow.commit()
    reward = await shop.reward(
        kind=CatalogueRewardKind.COUPON, coupon_template_id=voucher.id, stock=None
    )
    redemption = await shop.redeem(member, reward)
    async with uow_factory() as uow:
        stored = await uow.catalogue.get_redemption(redemption)
        assert stored is not None
        assert stored.coupon_id is not None
        coupon = await uow.coupons.get(stored.coupon_id)
        assert coupon is not None

    async def cancel() -> str:
        async with uow_factory() as uow:
            await cancel_redemption(
                CancelRedemption(redemption, ADMIN, "changed mind"), uow, clock=shop.clock
            )
            await uow.commit()
        return "cancelled"

    async def spend() -> str:
        async with uow_factory() as uow:
            await record_sale(
                RecordSale(
                    store_id=shop.store.id,
                    terminal_id=None,
                    receipt_id="R-2",
                    lines=[LineInput("TOWEL", 1, 5_000)],
                    member_id=member,
                    coupon_codes=[display(coupon.code)],
                ),
                uow,
                clock=shop.clock,
                ids=_Uuid4s(),
                dating=SaleDating(),
            )
            await uow.commit()
        return "redeemed"

    outcomes, waits = await race(
        clean_db, [outcome(cancel()), outcome(spend())], gate="points_accounts"
    )

    waits.assert_overlapped("a cancellation and a sale with its coupon", at_least=2)
    names = sorted(o if isinstance(o, str) else type(o).__name__ for o in outcomes)
    assert names in (
        ["CouponNotRedeemable", "cancelled"],
        ["RewardRedemptionUsed", "redeemed"],
    ), outcomes
    async with uow_factory() as uow:
        after = await uow.coupons.get(coupon.id)
        balance = (await uow.points.get(member)).available
    assert after is not None
    if "cancelled" in names:
        assert (after.status.value, balance) == ("voided", 500)
    else:
        assert (after.status.value, balance) == ("redeemed", 200 + 40)  # 40 earned on 40.00
    connection = await asyncpg.connect(clean_db)
    try:
        assert (await verify_ledger(connection)).ok
    finally:
        await connection.close()
