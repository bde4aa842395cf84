"""Round trips through every PostgreSQL repository, inside real units of work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import asyncpg
import pytest

from adapters.persistence.tables import RefundLineRow, RefundRow, SaleLineRow
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.idempotency_store import IdempotencyClaim, StoredResponse
from domain.cards import CardStatus, MemberCard
from domain.errors import InvalidInput
from domain.members import Member
from domain.points import EntryType, LedgerEntry, PointsAccount, Reference
from domain.program import DEFAULT_PROGRAM, ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.repositories import AuditRecord, RecordedRefund
from domain.sales import RefundLine
from domain.stores import Store
from domain.tiers import BASE_TIER, Tier, TierLadder
from tests.integration.factories import T0, a_member, a_sale, a_store, a_terminal, card_number

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]


async def committed_store(uow_factory: UowFactory, code: str = "SHA-001") -> Store:
    store = a_store(code)
    async with uow_factory() as uow:
        assert await uow.stores.add_store(store) is True
        await uow.commit()
    return store


async def committed_member(uow_factory: UowFactory, member: Member | None = None) -> Member:
    member = member or a_member()
    async with uow_factory() as uow:
        assert await uow.members.add(member) is True
        await uow.points.open_account(member.id)
        await uow.commit()
    return member


# Members -------------------------------------------------------------------------------------


async def test_a_member_round_trips_with_their_card(uow_factory: UowFactory) -> None:
    store = await committed_store(uow_factory)
    member = a_member(store_id=store.id)

    async with uow_factory() as uow:
        assert await uow.members.add(member) is True
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.members.get(member.id) == member
        assert await uow.members.get_by_phone("+8613800138000") == member
        assert await uow.members.find_card(member.card_number) == MemberCard(
            card_number=member.card_number,
            member_id=member.id,
            status=CardStatus.ACTIVE,
            issued_at=member.enrolled_at,
        )
        assert await uow.members.card_number_taken(member.card_number) is True


async def test_a_member_without_optional_details_round_trips(uow_factory: UowFactory) -> None:
    member = a_member(name=None, email=None, birthday=None)
    await committed_member(uow_factory, member)

    async with uow_factory() as uow:
        loaded = await uow.members.get(member.id)

    assert loaded == member
    assert loaded is not None
    assert (loaded.name, loaded.email, loaded.birthday, loaded.enrolled_store_id) == (
        None,
        None,
        None,
        None,
    )


async def test_adding_a_member_with_a_taken_phone_returns_false_and_stores_nothing(
    uow_factory: UowFactory,
) -> None:
    first = await committed_member(uow_factory, a_member("+8613800138000", card=1))
    twin = a_member("+8613800138000", card=2, name="Han Meimei")

    async with uow_factory() as uow:
        assert await uow.members.add(twin) is False
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.members.get(twin.id) is None
        assert await uow.members.card_number_taken(twin.card_number) is False
        assert await uow.members.get_by_phone("+8613800138000") == first


async def test_unknown_members_and_cards_are_none(uow_factory: UowFactory) -> None:
    await committed_member(uow_factory)

    async with uow_factory() as uow:
        assert await uow.members.get(uuid4()) is None
        assert await uow.members.get_by_phone("+8613900139000") is None
        assert await uow.members.find_card(card_number(999)) is None
        assert await uow.members.card_number_taken(card_number(999)) is False


async def test_a_member_is_found_by_their_active_card_only(
    uow_factory: UowFactory, db_url: str
) -> None:
    member = await committed_member(uow_factory)
    replacement = card_number(2)
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(
            "UPDATE member_cards SET status = 'blocked', blocked_at = now() WHERE card_number = $1",
            member.card_number,
        )
        await connection.execute(
            "INSERT INTO member_cards (card_number, member_id, issued_at) VALUES ($1, $2, $3)",
            replacement,
            member.id,
            T0 + timedelta(days=30),
        )
    finally:
        await connection.close()

    async with uow_factory() as uow:
        loaded = await uow.members.get(member.id)
        old_card = await uow.members.find_card(member.card_number)

    assert loaded is not None
    assert loaded.card_number == replacement
    assert old_card is not None
    assert (old_card.status, old_card.member_id) == (CardStatus.BLOCKED, member.id)


# Points --------------------------------------------------------------------------------------


async def test_a_new_points_account_is_empty(uow_factory: UowFactory) -> None:
    member = await committed_member(uow_factory)

    async with uow_factory() as uow:
        account = await uow.points.get_for_update(member.id)
        entries = await uow.points.entries(member.id, before_id=None, limit=10)

    assert (account.available, account.pending, account.debt) == (0, 0, 0)
    assert entries == []


async def test_locking_a_missing_points_account_raises_lookup_error(
    uow_factory: UowFactory,
) -> None:
    missing = uuid4()
    async with uow_factory() as uow:
        with pytest.raises(LookupError, match=str(missing)):
            await uow.points.get_for_update(missing)
        # A plain read of a missing account is an empty account.
        assert await uow.points.get(missing) == PointsAccount(member_id=missing)


async def test_saving_an_account_updates_balances_and_appends_its_entries(
    uow_factory: UowFactory,
) -> None:
    member = await committed_member(uow_factory)

    async with uow_factory() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(100, reference=Reference("sale", "s-1"), now=T0)
        account.reverse(130, reference=Reference("refund", "r-1"), now=T0 + timedelta(hours=1))
        await uow.points.save(account)
        assert account.new_entries == []  # saved entries are not appended again
        await uow.points.save(account)
        await uow.commit()

    async with uow_factory() as uow:
        account = await uow.points.get(member.id)
        entries = await uow.points.entries(member.id, before_id=None, limit=10)

    assert (account.available, account.pending, account.debt, account.balance) == (0, 0, 30, -30)
    assert len(entries) == 2
    newest, oldest = entries
    assert newest.id is not None
    assert oldest.id is not None
    assert newest.id > oldest.id
    assert newest == LedgerEntry(
        id=newest.id,
        member_id=member.id,
        type=EntryType.REVERSE,
        points=-130,
        reference=Reference("refund", "r-1"),
        posting_key="refund:r-1:reverse",
        created_at=T0 + timedelta(hours=1),
        expires_at=None,
    )
    assert oldest == LedgerEntry(
        id=oldest.id,
        member_id=member.id,
        type=EntryType.EARN,
        points=100,
        reference=Reference("sale", "s-1"),
        posting_key="sale:s-1:earn",
        created_at=T0,
        expires_at=None,
    )


async def test_a_posting_applied_twice_is_a_database_error_not_double_points(
    uow_factory: UowFactory,
) -> None:
    member = await committed_member(uow_factory)
    async with uow_factory() as uow:
        account = await uow.points.get_for_update(member.id)
        account.earn(100, reference=Reference("sale", "s-1"), now=T0)
        await uow.points.save(account)
        await uow.commit()

    async def earn_for_the_same_sale_again() -> None:
        async with uow_factory() as uow:
            account = await uow.points.get_for_update(member.id)
            account.earn(100, reference=Reference("sale", "s-1"), now=T0)
            await uow.points.save(account)
            await uow.commit()

    with pytest.raises(asyncpg.UniqueViolationError, match="points_entries_posting_key"):
        await earn_for_the_same_sale_again()

    async with uow_factory() as uow:
        assert (await uow.points.get(member.id)).available == 100
        assert len(await uow.points.entries(member.id, before_id=None, limit=10)) == 1


async def test_ledger_entries_page_newest_first_with_before_id(uow_factory: UowFactory) -> None:
    member = await committed_member(uow_factory)
    other = await committed_member(uow_factory, a_member("+8613900139000", card=2))
    async with uow_factory() as uow:
        for who in (member, other):
            account = await uow.points.get_for_update(who.id)
            for n in range(1, 6):
                account.earn(n, reference=Reference("sale", f"s-{n}"), now=T0)
            await uow.points.save(account)
        await uow.commit()

    async with uow_factory() as uow:
        page1 = await uow.points.entries(member.id, before_id=None, limit=2)
        assert page1[-1].id is not None
        page2 = await uow.points.entries(member.id, before_id=page1[-1].id, limit=2)
        assert page2[-1].id is not None
        page3 = await uow.points.entries(member.id, before_id=page2[-1].id, limit=2)
        assert page3[-1].id is not None
        page4 = await uow.points.entries(member.id, before_id=page3[-1].id, limit=2)

    assert [[e.points for e in page] for page in (page1, page2, page3, page4)] == [
        [5, 4],
        [3, 2],
        [1],
        [],
    ]
    assert {e.member_id for e in [*page1, *page2, *page3]} == {member.id}


# Sales and refunds ---------------------------------------------------------------------------


async def test_a_sale_round_trips_with_its_lines(uow_factory: UowFactory) -> None:
    store = await committed_store(uow_factory)
    member = await committed_member(uow_factory)
    terminal = a_terminal(store.id)
    sale = a_sale(store.id, member_id=member.id, terminal_id=terminal.id)
    async with uow_factory() as uow:
        assert await uow.stores.add_terminal(terminal) is True
        assert await uow.sales.any_recorded() is False
        assert await uow.sales.add(sale) is True
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.sales.get(sale.id)
        locked = await uow.sales.get_for_update(sale.id)
        assert await uow.sales.any_recorded() is True
        assert await uow.sales.get(uuid4()) is None
        assert await uow.sales.get_for_update(uuid4()) is None

    assert loaded == sale
    assert locked == sale
    assert loaded is not None
    assert (loaded.payable, loaded.pricing.points_earned, loaded.refunded_quantities) == (
        2200,
        22,
        {},
    )


async def test_a_receipt_recorded_twice_in_one_store_returns_false(
    uow_factory: UowFactory,
) -> None:
    store = await committed_store(uow_factory, "SHA-001")
    other_store = await committed_store(uow_factory, "SHA-002")
    first = a_sale(store.id, receipt_id="R-7")
    again = a_sale(store.id, receipt_id="R-7")
    elsewhere = a_sale(other_store.id, receipt_id="R-7")

    async with uow_factory() as uow:
        assert await uow.sales.add(first) is True
        assert await uow.sales.add(again) is False
        assert await uow.sales.add(elsewhere) is True
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.sales.get(again.id) is None
        assert await uow.sales.get(elsewhere.id) == elsewhere
    assert await SaleLineRow.count().where(SaleLineRow.sale_id == again.id) == 0


async def test_a_refund_persists_the_sale_totals_and_line_quantities(
    uow_factory: UowFactory,
) -> None:
    store = await committed_store(uow_factory)
    member = await committed_member(uow_factory)
    sale = a_sale(store.id, member_id=member.id)
    async with uow_factory() as uow:
        await uow.sales.add(sale)
        await uow.commit()

    refund_id = uuid4()
    async with uow_factory() as uow:
        locked = await uow.sales.get_for_update(sale.id)
        assert locked is not None
        decision = locked.refund_lines([RefundLine("SKU-A", 1)])
        locked.apply_refund(decision)
        recorded = RecordedRefund(
            id=refund_id,
            refund_id="RF-1",
            sale_id=sale.id,
            decision=decision,
            created_at=T0 + timedelta(days=2),
        )
        assert await uow.sales.add_refund(locked, recorded) is True
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.sales.get(sale.id)
    assert loaded is not None
    # One of two 1000-unit items out of a 2500 subtotal: 1000/2500 of the 2200 paid, and
    # 880/2200 of the 22 points, floored.
    assert (loaded.refunded_amount, loaded.points_reversed) == (880, 8)
    assert loaded.refunded_quantities == {0: 1}
    refund_rows = await RefundRow.select(
        RefundRow.id,
        RefundRow.sale_id,
        RefundRow.member_id,
        RefundRow.refund_id,
        RefundRow.amount,
        RefundRow.points_reversed,
        RefundRow.created_at,
    )
    assert refund_rows == [
        {
            "id": refund_id,
            "sale_id": sale.id,
            "member_id": member.id,
            "refund_id": "RF-1",
            "amount": 880,
            "points_reversed": 8,
            "created_at": T0 + timedelta(days=2),
        }
    ]
    line_rows = await RefundLineRow.select(
        RefundLineRow.refund, RefundLineRow.member_id, RefundLineRow.line_no, RefundLineRow.quantity
    )
    assert line_rows == [{"refund": refund_id, "member_id": member.id, "line_no": 0, "quantity": 1}]


async def test_a_refund_id_used_twice_on_a_sale_returns_false_and_changes_nothing(
    uow_factory: UowFactory,
) -> None:
    store = await committed_store(uow_factory)
    sale = a_sale(store.id)  # no member: payable 2400

    async def refund(refund_id: str, amount: int) -> bool:
        async with uow_factory() as uow:
            locked = await uow.sales.get_for_update(sale.id)
            assert locked is not None
            decision = locked.refund_amount(amount)
            locked.apply_refund(decision)
            recorded = RecordedRefund(uuid4(), refund_id, sale.id, decision, T0)
            added = await uow.sales.add_refund(locked, recorded)
            await uow.commit()
            return added

    async with uow_factory() as uow:
        await uow.sales.add(sale)
        await uow.commit()

    assert await refund("RF-1", 500) is True
    assert await refund("RF-1", 700) is False
    assert await refund("RF-2", 300) is True

    async with uow_factory() as uow:
        loaded = await uow.sales.get(sale.id)
    assert loaded is not None
    assert (loaded.refunded_amount, loaded.points_reversed, loaded.refunded_quantities) == (
        800,
        0,
        {},
    )
    assert sorted(r["amount"] for r in await RefundRow.select(RefundRow.amount)) == [300, 500]


# Stores and terminals ------------------------------------------------------------------------


async def test_stores_round_trip_and_duplicate_codes_return_false(
    uow_factory: UowFactory,
) -> None:
    store = a_store("SHA-001", name="Shanghai People's Square")
    async with uow_factory() as uow:
        assert await uow.stores.add_store(store) is True
        assert await uow.stores.add_store(a_store("SHA-001", name="Impostor")) is False
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.stores.get_store(store.id) == store
        assert await uow.stores.get_store_by_code("SHA-001") == store
        assert await uow.stores.get_store(uuid4()) is None
        assert await uow.stores.get_store_by_code("SHA-999") is None


async def test_terminals_round_trip_and_codes_are_unique_per_store(
    uow_factory: UowFactory,
) -> None:
    store = await committed_store(uow_factory, "SHA-001")
    other_store = await committed_store(uow_factory, "SHA-002")
    terminal = a_terminal(store.id, "till-1")

    async with uow_factory() as uow:
        assert await uow.stores.add_terminal(terminal) is True
        assert await uow.stores.add_terminal(a_terminal(store.id, "till-1")) is False
        assert await uow.stores.add_terminal(a_terminal(other_store.id, "till-1")) is True
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.stores.get_terminal(terminal.id) == terminal
        assert await uow.stores.get_terminal(uuid4()) is None


# Programme settings and tiers ----------------------------------------------------------------


async def test_the_migrated_program_settings_are_the_defaults(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.program.get() == DEFAULT_PROGRAM


@pytest.mark.parametrize(
    "expiry",
    [
        PointsExpiryRule(ExpiryKind.DAYS, 365),
        PointsExpiryRule(ExpiryKind.END_OF_MONTH, 12),
        PointsExpiryRule(ExpiryKind.END_OF_YEAR),
        PointsExpiryRule(ExpiryKind.NEVER),
    ],
    ids=lambda rule: rule.kind.value,
)
async def test_program_settings_round_trip(
    uow_factory: UowFactory, expiry: PointsExpiryRule
) -> None:
    settings = ProgramSettings(
        currency="EUR",
        time_zone="Europe/Berlin",
        earn_rate=Decimal("1.2345"),
        point_value=Decimal("0.5"),
        points_expiry=expiry,
        pending_days=30,
        version=7,
    )
    async with uow_factory() as uow:
        await uow.program.save(settings)
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.program.get()

    assert loaded == settings
    assert isinstance(loaded.earn_rate, Decimal)
    assert (loaded.earn_rate, loaded.point_value) == (Decimal("1.2345"), Decimal("0.5"))


def test_settings_with_more_decimals_than_the_database_keeps_are_refused() -> None:
    # NUMERIC(12, 4): a fifth decimal would be rounded away silently by the database.
    with pytest.raises(InvalidInput) as refused:
        ProgramSettings(
            currency="CNY",
            time_zone="Asia/Shanghai",
            earn_rate=Decimal("0.12345"),
            point_value=Decimal("1"),
            points_expiry=PointsExpiryRule(),
            pending_days=14,
        )
    assert refused.value.field == "earn_rate"


SILVER = Tier("silver", "Silver", 1, 100_000, Decimal("1.5"))
GOLD = Tier("gold", "Gold", 2, 500_000, Decimal("2.25"))


async def test_the_migrated_tier_ladder_is_the_base_tier(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.tiers.ladder() == TierLadder((BASE_TIER,))


async def test_replacing_the_tier_ladder_upserts_and_removes_tiers(
    uow_factory: UowFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.tiers.replace(TierLadder.of([GOLD, BASE_TIER, SILVER]))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tiers.ladder() == TierLadder((BASE_TIER, SILVER, GOLD))

    richer_gold = Tier("gold", "Gold+", 2, 600_000, Decimal("2.5"))
    async with uow_factory() as uow:
        await uow.tiers.replace(TierLadder.of([BASE_TIER, richer_gold]))
        await uow.commit()
    async with uow_factory() as uow:
        ladder = await uow.tiers.ladder()

    assert ladder == TierLadder((BASE_TIER, richer_gold))
    assert ladder.tiers[1].earn_multiplier == Decimal("2.5")


async def test_a_tier_that_members_hold_cannot_be_removed(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await uow.tiers.replace(TierLadder.of([BASE_TIER, SILVER]))
        await uow.commit()
    await committed_member(uow_factory)  # holds 'member'

    with pytest.raises(asyncpg.ForeignKeyViolationError, match="members_tier_code_fkey"):
        async with uow_factory() as uow:
            await uow.tiers.replace(TierLadder.of([Tier("basic", "Basic", 5, 0, Decimal(1))]))

    async with uow_factory() as uow:
        assert await uow.tiers.ladder() == TierLadder((BASE_TIER, SILVER))


async def test_a_new_tier_can_take_the_rank_of_a_removed_one(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await uow.tiers.replace(TierLadder.of([BASE_TIER, SILVER]))
        await uow.commit()

    vip = Tier("vip", "VIP", 1, 200_000, Decimal(3))
    async with uow_factory() as uow:
        await uow.tiers.replace(TierLadder.of([BASE_TIER, vip]))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.tiers.ladder() == TierLadder((BASE_TIER, vip))


# Audit log -----------------------------------------------------------------------------------


async def test_audit_records_are_appended_with_their_details(
    uow_factory: UowFactory, db_url: str
) -> None:
    before = time.time()
    async with uow_factory() as uow:
        await uow.audit.record(
            AuditRecord("admin:alice", "store.created", "store:SHA-001", {"code": "SHA-001"})
        )
        await uow.audit.record(AuditRecord("pos:t1", "sale.recorded", "sale:1", {}))
        await uow.commit()

    connection = await asyncpg.connect(db_url)
    try:
        rows = await connection.fetch(
            "SELECT actor, action, subject, details::text, extract(epoch FROM at) AS at "
            "FROM audit_log ORDER BY id"
        )
    finally:
        await connection.close()
    assert [(r["actor"], r["action"], r["subject"], r["details"]) for r in rows] == [
        ("admin:alice", "store.created", "store:SHA-001", '{"code": "SHA-001"}'),
        ("pos:t1", "sale.recorded", "sale:1", "{}"),
    ]
    assert all(before - 1 <= float(r["at"]) <= time.time() + 1 for r in rows)


# Idempotency keys ----------------------------------------------------------------------------

CALLER = "pos:terminal-1"
ANSWER = StoredResponse(status_code=201, body=b'{"sale_id": "abc", "\xff": 1}', media_type="x/y")


async def test_the_first_claim_of_a_key_owns_it(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        claim = await uow.idempotency.claim(CALLER, "k-1", "hash-1", T0)

    assert claim == IdempotencyClaim(request_hash="hash-1", replay=None)


async def test_a_remembered_answer_is_replayed_with_the_first_requests_hash(
    uow_factory: UowFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.idempotency.claim(CALLER, "k-1", "hash-1", T0)
        await uow.idempotency.remember(CALLER, "k-1", ANSWER)
        await uow.commit()

    async with uow_factory() as uow:
        again = await uow.idempotency.claim(CALLER, "k-1", "hash-2", T0 + timedelta(seconds=5))

    assert again == IdempotencyClaim(request_hash="hash-1", replay=ANSWER)
    assert again.replay is not None
    assert type(again.replay.body) is bytes


async def test_keys_are_scoped_by_caller(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await uow.idempotency.claim(CALLER, "k-1", "hash-1", T0)
        await uow.idempotency.remember(CALLER, "k-1", ANSWER)
        await uow.commit()

    async with uow_factory() as uow:
        claim = await uow.idempotency.claim("pos:terminal-2", "k-1", "hash-9", T0)

    assert claim == IdempotencyClaim(request_hash="hash-9", replay=None)


async def test_a_claim_rolled_back_leaves_the_key_free(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await uow.idempotency.claim(CALLER, "k-1", "hash-1", T0)
        await uow.idempotency.remember(CALLER, "k-1", ANSWER)

    async with uow_factory() as uow:
        claim = await uow.idempotency.claim(CALLER, "k-1", "hash-2", T0)

    assert claim == IdempotencyClaim(request_hash="hash-2", replay=None)


async def test_a_concurrent_claim_waits_for_the_first_transaction_and_replays_its_answer(
    uow_factory: UowFactory,
) -> None:
    first_claimed = asyncio.Event()
    events: list[str] = []

    async def first() -> IdempotencyClaim:
        async with uow_factory() as uow:
            claim = await uow.idempotency.claim(CALLER, "k-1", "hash-1", T0)
            first_claimed.set()
            await asyncio.sleep(0.3)
            await uow.idempotency.remember(CALLER, "k-1", ANSWER)
            events.append("first commits")
            await uow.commit()
            return claim

    async def second() -> tuple[IdempotencyClaim, float]:
        await first_claimed.wait()
        async with uow_factory() as uow:
            started = time.monotonic()
            events.append("second claims")
            claim = await uow.idempotency.claim(CALLER, "k-1", "hash-1", T0)
            events.append("second answered")
            return claim, time.monotonic() - started

    first_claim, (second_claim, waited) = await asyncio.wait_for(
        asyncio.gather(first(), second()), timeout=5
    )

    assert first_claim == IdempotencyClaim(request_hash="hash-1", replay=None)
    assert second_claim == IdempotencyClaim(request_hash="hash-1", replay=ANSWER)
    assert events == ["second claims", "first commits", "second answered"]
    assert waited >= 0.25


async def test_a_concurrent_claim_takes_the_key_if_the_first_transaction_rolls_back(
    uow_factory: UowFactory,
) -> None:
    first_claimed = asyncio.Event()

    async def first() -> None:
        async with uow_factory() as uow:
            await uow.idempotency.claim(CALLER, "k-1", "hash-1", T0)
            first_claimed.set()
            await asyncio.sleep(0.2)
            # ends without commit

    async def second() -> IdempotencyClaim:
        await first_claimed.wait()
        async with uow_factory() as uow:
            claim = await uow.idempotency.claim(CALLER, "k-1", "hash-2", T0)
            await uow.commit()
            return claim

    _, claim = await asyncio.wait_for(asyncio.gather(first(), second()), timeout=5)

    assert claim == IdempotencyClaim(request_hash="hash-2", replay=None)


async def test_purge_deletes_only_keys_older_than_the_cutoff(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        for n, age_days in enumerate([10, 8, 7, 1, 0]):
            await uow.idempotency.claim(CALLER, f"k-{n}", "h", T0 - timedelta(days=age_days))
            await uow.idempotency.remember(CALLER, f"k-{n}", ANSWER)
        await uow.commit()

    async with uow_factory() as uow:
        purged = await uow.idempotency.purge_older_than(T0 - timedelta(days=7))
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.idempotency.purge_older_than(T0 - timedelta(days=7))
        survivors = {
            key: (await uow.idempotency.claim(CALLER, key, "new", T0)).replay is not None
            for key in ("k-0", "k-1", "k-2", "k-3", "k-4")
        }

    assert (purged, again) == (2, 0)
    # Purged keys can be claimed afresh; the rest (exactly 7 days old included) still replay.
    assert survivors == {"k-0": False, "k-1": False, "k-2": True, "k-3": True, "k-4": True}
