"""The member repository's contract: members, their cards, their tier standing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

from domain.cards import CardStatus, MemberCard
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import a_member, card_number

PHONE = "+8613800138000"  # the phone of backend.member()


async def test_a_member_round_trips_with_their_active_card(backend: Backend) -> None:
    member = await backend.member()
    async with backend.new_uow() as uow:
        assert await uow.members.get(member.id) == member
        assert await uow.members.hold(member.id) == member
        assert await uow.members.get_by_phone(PHONE) == member
        assert await uow.members.existing([member.id, uuid4()]) == {member.id: False}
        assert await uow.members.find_card(member.card_number) == MemberCard(
            member.card_number, member.id, CardStatus.ACTIVE, member.enrolled_at
        )
        assert await uow.members.card_number_taken(member.card_number) is True
        assert await uow.members.get(uuid4()) is None


async def test_a_phone_is_enrolled_once(backend: Backend) -> None:
    await backend.member()
    async with backend.new_uow() as uow:
        assert await uow.members.add(a_member(PHONE, card=2)) is False


async def test_a_card_number_is_issued_once(backend: Backend) -> None:
    await backend.member(card=1)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.members.add(a_member("+8613900139000", card=1))


async def test_a_member_enrolled_at_a_store_that_does_not_exist_is_refused(
    backend: Backend,
) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.members.add(a_member(store_id=uuid4()))


async def test_replacing_a_card_blocks_the_old_one_and_the_member_loads_with_the_new(
    backend: Backend,
) -> None:
    member = await backend.member(card=1)
    later = member.enrolled_at + timedelta(days=1)
    async with backend.committed() as uow:
        new_card = MemberCard(card_number(2), member.id, CardStatus.ACTIVE, later)
        await uow.members.replace_card(member.id, new_card)
    async with backend.new_uow() as uow:
        assert [(c.card_number, c.status) for c in await uow.members.cards_of(member.id)] == [
            (card_number(2), CardStatus.ACTIVE),
            (card_number(1), CardStatus.BLOCKED),
        ]
        assert await uow.members.get(member.id) == replace(member, card_number=card_number(2))


async def test_a_card_number_in_use_cannot_be_a_replacement(backend: Backend) -> None:
    member = await backend.member(card=1)
    other = await backend.member("+8613900139000", card=2)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.members.replace_card(
                member.id,
                MemberCard(other.card_number, member.id, CardStatus.ACTIVE, other.enrolled_at),
            )
