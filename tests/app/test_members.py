from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from app.read_models import UnitOfWorkMemberReads
from app.transactions import write
from app.unit_of_work import UnitOfWork
from app.use_cases.members import EnrolMember, LookupMember, enrol_member, lookup_member
from app.use_cases.views import Balances, MemberSummary, TierView
from domain.cards import is_luhn_valid, luhn_check_digit
from domain.errors import (
    CardBlocked,
    InvalidCardNumber,
    InvalidEmail,
    InvalidInput,
    InvalidPhoneNumber,
    MemberExists,
    MemberNotFound,
)
from domain.points import Reference
from domain.sales import IN_STORE
from domain.tiers import BASE_TIER, Tier, TierLadder
from tests.support.fakes import FakeWorld, SequenceRandom


async def enrol(world: FakeWorld, cmd: EnrolMember) -> MemberSummary:
    async def run(uow: UnitOfWork) -> MemberSummary:
        return await enrol_member(
            cmd,
            uow,
            clock=world.clock,
            ids=world.ids,
            random=world.random,
            contacts=world.contacts,
        )

    return await write(world.uow_factory, run)


async def lookup(world: FakeWorld, query: LookupMember) -> MemberSummary:
    found = await lookup_member(
        query,
        UnitOfWorkMemberReads(world.uow_factory),
        contacts=world.contacts,
        clock=world.clock,
        channel=IN_STORE,
    )
    return found.summary


def card_with_body(body: int) -> str:
    payload = "8" + str(body).zfill(14)
    return payload + luhn_check_digit(payload)


# Enrolment ---------------------------------------------------------------------------------


async def test_enrolment_stores_the_member_with_the_normalised_phone(world: FakeWorld) -> None:
    world.random = SequenceRandom([42])
    summary = await enrol(world, EnrolMember(phone="138 0013 8000", name="Li Lei"))
    member_id = world.ids.issued[0]
    assert summary == MemberSummary(
        member_id=member_id,
        card_number=card_with_body(42),
        display_name="Li Lei",
        name="Li Lei",
        birthday=None,
        tier=TierView("member", "Member"),
        points=Balances(available=0, pending=0),
    )
    stored = world.db.members.members[member_id]
    assert stored.phone == "+8613800138000"
    assert stored.enrolled_at == world.clock.now()
    assert stored.tier_code == "member"


async def test_enrolment_issues_a_card_number_with_a_valid_check_digit(world: FakeWorld) -> None:
    summary = await enrol(world, EnrolMember(phone="+8613800138000"))
    assert len(summary.card_number) == 16
    assert summary.card_number.startswith("8")
    assert is_luhn_valid(summary.card_number)
    card = world.db.members.cards[summary.card_number]
    assert card.member_id == summary.member_id


async def test_enrolment_opens_an_empty_points_account(world: FakeWorld) -> None:
    summary = await enrol(world, EnrolMember(phone="+8613800138000"))
    account = world.db.points.accounts[summary.member_id]
    assert (account.available, account.pending, account.debt) == (0, 0, 0)


async def test_a_member_without_a_name_is_shown_by_the_masked_phone(world: FakeWorld) -> None:
    summary = await enrol(world, EnrolMember(phone="13800138000"))
    assert summary.display_name == "+86*******8000"
    assert summary.name is None


async def test_the_email_is_normalised_through_the_port(world: FakeWorld) -> None:
    summary = await enrol(world, EnrolMember(phone="13800138000", email="Li.Lei@Example.com"))
    assert world.db.members.members[summary.member_id].email == "li.lei@example.com"


async def test_a_new_member_starts_in_the_entry_tier_of_the_ladder(world: FakeWorld) -> None:
    world.db.tiers.current = TierLadder.of(
        [
            Tier("gold", "Gold", rank=5, threshold=500_000, earn_multiplier=Decimal(2)),
            replace(BASE_TIER, code="basic", name="Basic"),
        ]
    )
    summary = await enrol(world, EnrolMember(phone="13800138000"))
    assert summary.tier == TierView("basic", "Basic")
    assert world.db.members.members[summary.member_id].tier_code == "basic"


async def test_the_same_phone_written_differently_is_the_same_member(world: FakeWorld) -> None:
    await enrol(world, EnrolMember(phone="+8613800138000"))
    with pytest.raises(MemberExists):
        await enrol(world, EnrolMember(phone="138-0013-8000", name="Someone else"))
    assert len(world.db.members.members) == 1
    assert len(world.db.points.accounts) == 1


async def test_a_phone_the_port_rejects_enrols_nobody(world: FakeWorld) -> None:
    with pytest.raises(InvalidPhoneNumber):
        await enrol(world, EnrolMember(phone="12345"))
    with pytest.raises(InvalidEmail):
        await enrol(world, EnrolMember(phone="13800138000", email="not-an-address"))
    assert world.db.members.members == {}
    assert world.db.points.accounts == {}


async def test_a_birthday_later_than_today_in_the_programme_time_zone_is_rejected(
    world: FakeWorld,
) -> None:
    # 20:00 UTC on 30 June is 04:00 on 1 July in Shanghai.
    world.clock.set(datetime(2024, 6, 30, 20, 0, tzinfo=UTC))
    summary = await enrol(world, EnrolMember(phone="13800138000", birthday=date(2024, 7, 1)))
    assert summary.birthday == date(2024, 7, 1)
    with pytest.raises(InvalidInput) as caught:
        await enrol(world, EnrolMember(phone="13900139000", birthday=date(2024, 7, 2)))
    assert caught.value.field == "birthday"
    assert len(world.db.members.members) == 1


async def test_a_taken_card_number_is_skipped(world: FakeWorld) -> None:
    world.random = SequenceRandom([7, 7, 8])
    first = await enrol(world, EnrolMember(phone="13800138000"))
    second = await enrol(world, EnrolMember(phone="13900139000"))
    assert first.card_number == card_with_body(7)
    assert second.card_number == card_with_body(8)


async def test_a_random_source_that_only_repeats_itself_fails_loudly(world: FakeWorld) -> None:
    world.random = SequenceRandom([7] * 6)
    await enrol(world, EnrolMember(phone="13800138000"))
    with pytest.raises(RuntimeError, match="free card number"):
        await enrol(world, EnrolMember(phone="13900139000"))
    assert len(world.db.members.members) == 1


# Lookup -------------------------------------------------------------------------------------


async def test_a_member_is_found_by_card_number_with_or_without_spaces(world: FakeWorld) -> None:
    enrolled = await enrol(world, EnrolMember(phone="13800138000", name="Li Lei"))
    number = enrolled.card_number
    spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    assert await lookup(world, LookupMember(card_number=number)) == enrolled
    assert await lookup(world, LookupMember(card_number=spaced)) == enrolled


async def test_a_member_is_found_by_phone_in_any_accepted_form(world: FakeWorld) -> None:
    enrolled = await enrol(world, EnrolMember(phone="13800138000"))
    assert await lookup(world, LookupMember(phone="+8613800138000")) == enrolled
    assert await lookup(world, LookupMember(phone="138 0013 8000")) == enrolled


async def test_the_summary_shows_the_current_balance(world: FakeWorld) -> None:
    enrolled = await enrol(world, EnrolMember(phone="13800138000"))
    account = await world.db.points.get_for_update(enrolled.member_id)
    account.earn(120, reference=Reference("sale", "x"), now=world.clock.now())
    await world.db.points.save(account)
    found = await lookup(world, LookupMember(phone="13800138000"))
    assert found.points == Balances(available=120, pending=0)


async def test_an_unknown_card_or_phone_is_member_not_found(world: FakeWorld) -> None:
    await enrol(world, EnrolMember(phone="13800138000"))
    with pytest.raises(MemberNotFound):
        await lookup(world, LookupMember(card_number=card_with_body(123)))
    with pytest.raises(MemberNotFound):
        await lookup(world, LookupMember(phone="13900139000"))


async def test_a_mistyped_card_number_is_rejected_before_looking(world: FakeWorld) -> None:
    enrolled = await enrol(world, EnrolMember(phone="13800138000"))
    number = enrolled.card_number
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(InvalidCardNumber):
        await lookup(world, LookupMember(card_number=typo))


async def test_a_blocked_card_says_so(world: FakeWorld) -> None:
    enrolled = await enrol(world, EnrolMember(phone="13800138000"))
    world.db.members.block_card(enrolled.card_number)
    with pytest.raises(CardBlocked):
        await lookup(world, LookupMember(card_number=enrolled.card_number))


async def test_a_lookup_with_an_invalid_phone_is_rejected(world: FakeWorld) -> None:
    with pytest.raises(InvalidPhoneNumber):
        await lookup(world, LookupMember(phone="12"))


@pytest.mark.parametrize(
    "query",
    [
        LookupMember(),
        LookupMember(card_number="", phone=""),
        LookupMember(card_number=card_with_body(1), phone="13800138000"),
    ],
)
async def test_a_lookup_needs_exactly_one_of_card_number_and_phone(
    world: FakeWorld, query: LookupMember
) -> None:
    await enrol(world, EnrolMember(phone="13800138000"))
    with pytest.raises(InvalidInput) as caught:
        await lookup(world, query)
    assert type(caught.value) is InvalidInput
