"""Enrolling members and finding them again at the till."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from app.read_models import CouponView, MemberAtTill, MemberReads
from app.unit_of_work import WithAudit, WithIntegrationEvents, WithProgram
from app.use_cases.erased_members import ErasedMembersUnit, hold_named_member
from app.use_cases.views import MemberSummary, ViewsUnit, member_summary
from domain.card_tokens import CardTokenCodec
from domain.cards import CardStatus, MemberCard, generate_card_number, parse_card_number
from domain.contacts import ContactNormaliser
from domain.errors import CardBlocked, InvalidInput, MemberExists, MemberNotFound
from domain.integration_events import member_enrolled
from domain.members import Member
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord


class MembersUnit(
    ErasedMembersUnit, ViewsUnit, WithAudit, WithIntegrationEvents, WithProgram, Protocol
):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


# A 15-digit random card body collides rarely; a handful of retries makes it vanishingly so.
CARD_NUMBER_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class EnrolMember:
    phone: str
    name: str | None = None
    email: str | None = None
    birthday: date | None = None
    store_id: UUID | None = None


async def enrol_member(
    cmd: EnrolMember,
    uow: MembersUnit,
    *,
    clock: Clock,
    ids: IdGenerator,
    random: RandomSource,
    contacts: ContactNormaliser,
) -> MemberSummary:
    phone = contacts.phone(cmd.phone)
    email = contacts.email(cmd.email) if cmd.email else None
    if await uow.members.get_by_phone(phone) is not None:
        raise MemberExists()
    program = await uow.program.get()
    ladder = await uow.tiers.ladder()
    now = clock.now()
    member = Member.enrol(
        member_id=ids.new_id(),
        phone=phone,
        card_number=await _unused_card_number(uow, random),
        tier_code=ladder.entry_tier.code,
        now=now,
        today=now.astimezone(ZoneInfo(program.time_zone)).date(),
        name=cmd.name,
        email=email,
        birthday=cmd.birthday,
        store_id=cmd.store_id,
    )
    # The pre-check above gives the friendly answer; the unique index decides under a race.
    if not await uow.members.add(member):
        raise MemberExists()
    await uow.points.open_account(member.id)
    await uow.integration_events.publish(member_enrolled(member))
    return await member_summary(uow, member)


async def _unused_card_number(uow: MembersUnit, random: RandomSource) -> str:
    for _ in range(CARD_NUMBER_ATTEMPTS):
        number = generate_card_number(random)
        if not await uow.members.card_number_taken(number):
            return number
    raise RuntimeError("could not find a free card number; is the random source broken?")


@dataclass(frozen=True, slots=True)
class LookupMember:
    card_number: str | None = None
    phone: str | None = None
    card_token: str | None = None


@dataclass(frozen=True, slots=True)
class FoundAtTill:
    summary: MemberSummary
    coupons: Sequence[CouponView]  # the coupons the cashier can apply on this channel now


async def lookup_member(
    query: LookupMember,
    reads: MemberReads,
    *,
    contacts: ContactNormaliser,
    clock: Clock,
    channel: str,
    card_tokens: CardTokenCodec | None = None,
) -> FoundAtTill:
    named = {"card_number": query.card_number, "phone": query.phone, "card_token": query.card_token}
    given = tuple(name for name, value in named.items() if value)
    if not given:
        raise InvalidInput(
            "give one of card_number, phone or card_token; none was given", fields=tuple(named)
        )
    if len(given) > 1:
        raise InvalidInput(
            f"give exactly one of card_number, phone or card_token; {' and '.join(given)} "
            "were given",
            fields=given,
        )
    now = clock.now()
    found: MemberAtTill | None
    if query.card_token:
        if card_tokens is None:
            raise RuntimeError("looking up by card_token needs the card token codec")
        # Expired and forged codes get the same answer as an unknown member.
        member_id = card_tokens.resolve(query.card_token, now)
        found = (
            await reads.member_at_till(member_id, now=now, channel=channel) if member_id else None
        )
    elif query.card_number:
        card = await reads.card_at_till(
            parse_card_number(query.card_number), now=now, channel=channel
        )
        if card is None or (card.holder is not None and card.holder.member.erased):
            raise MemberNotFound()
        if card.status is CardStatus.BLOCKED:
            raise CardBlocked()
        found = card.holder
    else:
        phone = contacts.phone(query.phone or "")
        found = await reads.phone_at_till(phone, now=now, channel=channel)
    # An erased member is not found, by any means, and looks like one who never existed.
    if found is None or found.member.erased:
        raise MemberNotFound()
    member = found.member
    summary = MemberSummary(
        member_id=member.id,
        card_number=member.card_number,
        display_name=member.display_name,
        name=member.name,
        birthday=member.birthday,
        tier=found.tier,
        points=found.points.balances(),
    )
    return FoundAtTill(summary, found.coupons)


@dataclass(frozen=True, slots=True)
class ReplaceCard:
    member_id: UUID
    actor: str


async def replace_card(
    cmd: ReplaceCard, uow: MembersUnit, *, clock: Clock, random: RandomSource
) -> MemberCard:
    """A lost card is replaced: the old number is blocked for good, a new one issued."""
    await hold_named_member(uow, cmd.member_id)
    card = MemberCard(
        card_number=await _unused_card_number(uow, random),
        member_id=cmd.member_id,
        status=CardStatus.ACTIVE,
        issued_at=clock.now(),
    )
    await uow.members.replace_card(cmd.member_id, card)
    await uow.audit.record(AuditRecord(cmd.actor, "card.replaced", f"member:{cmd.member_id}", {}))
    return card
