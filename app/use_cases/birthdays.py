"""Birthday coupons: a configured template for members whose birthday is coming up."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol
from uuid import UUID

from app.unit_of_work import (
    UnitOfWorkFactory,
    WithAudit,
    WithRewards,
)
from app.use_cases.coupon_issuing import CouponIssuingUnit, Issuer, issue_from_template
from domain.coupon_repositories import BirthdayReward, IssuedFrom
from domain.coupons import CouponSource
from domain.errors import CouponTemplateClosed, CouponTemplateNotFound, InvalidInput
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord


class BirthdaysUnit(CouponIssuingUnit, WithAudit, WithRewards, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


MAX_DAYS_AHEAD = 60


async def get_birthday_reward(uow: BirthdaysUnit) -> BirthdayReward:
    return await uow.rewards.birthday_reward()


async def set_birthday_reward(
    enabled: bool, template_id: UUID | None, days_ahead: int, actor: str, uow: BirthdaysUnit
) -> BirthdayReward:
    if not 0 <= days_ahead <= MAX_DAYS_AHEAD:
        raise InvalidInput(f"days_ahead is between 0 and {MAX_DAYS_AHEAD}", field="days_ahead")
    if enabled and template_id is None:
        raise InvalidInput("an enabled birthday reward needs a template", field="template_id")
    if template_id is not None and await uow.coupon_templates.get(template_id) is None:
        raise CouponTemplateNotFound()
    current = await uow.rewards.birthday_reward()
    settings = BirthdayReward(enabled, template_id, days_ahead, current.version + 1)
    await uow.rewards.save_birthday_reward(settings)
    await uow.audit.record(
        AuditRecord(
            actor,
            "birthday_reward.updated",
            "birthday_reward",
            {
                "enabled": enabled,
                "template_id": str(template_id) if template_id else None,
                "days_ahead": days_ahead,
                "version": settings.version,
            },
        )
    )
    return settings


def birthday_window(today: date, days_ahead: int) -> tuple[date, date]:
    """The local days whose birthdays are celebrated today: today to today + days_ahead."""
    return today, today + timedelta(days=days_ahead)


@dataclass(frozen=True, slots=True)
class BirthdayBatch:
    issued: int
    skipped: int


async def issue_birthday_coupons(
    due: Sequence[tuple[UUID, date]], settings: BirthdayReward, uow: BirthdaysUnit, issuer: Issuer
) -> BirthdayBatch:
    """Issues the birthday template to members with their next birthday; once per member per
    birthday year (the year of the birthday being celebrated, so a coupon sent on 30 December
    for a birthday on 2 January belongs to the new year)."""
    assert settings.template_id is not None
    by_year: dict[int, list[UUID]] = defaultdict(list)
    for member_id, birthday in due:
        by_year[birthday.year].append(member_id)
    issued = skipped = 0
    for year, members in sorted(by_year.items()):
        result = await issue_from_template(
            uow,
            settings.template_id,
            members,
            IssuedFrom(CouponSource.BIRTHDAY, f"birthday:{year}"),
            issuer,
        )
        issued += len(result.coupons)
        skipped += len(result.skipped)
    return BirthdayBatch(issued, skipped)


class BirthdayCalendar(Protocol):
    """Finds members whose birthday falls in a window of local days (a read model)."""

    async def members_due(
        self, first: date, last: date, *, after: UUID | None, limit: int
    ) -> Sequence[tuple[UUID, date]]:
        """Up to ``limit`` (member id, birthday being celebrated) above ``after``, ascending
        by member id, for birthdays from ``first`` to ``last`` inclusive. 29 February is
        celebrated on 28 February in other years."""
        ...


@dataclass(frozen=True, slots=True)
class BirthdayReport:
    issued: int = 0
    skipped: int = 0
    batches: int = 0
    enabled: bool = True
    template_closed: bool = False  # the configured template no longer issues coupons


BIRTHDAY_BATCH_SIZE = 500


async def run_birthday_job(
    uow_factory: UnitOfWorkFactory,
    calendar: BirthdayCalendar,
    *,
    clock: Clock,
    random: RandomSource,
    ids: IdGenerator,
    batch_size: int = BIRTHDAY_BATCH_SIZE,
) -> BirthdayReport:
    """Issues birthday coupons for the coming days, a batch of members per transaction.

    Running it twice, or every hour, issues nothing twice: each member gets one coupon per
    birthday year (a unique index backs it).
    """
    now = clock.now()
    async with uow_factory() as uow:
        settings = await uow.rewards.birthday_reward()
        program = await uow.program.get()
    if not settings.enabled or settings.template_id is None:
        return BirthdayReport(enabled=False)
    async with uow_factory() as uow:
        template = await uow.coupon_templates.get(settings.template_id)
    if template is None or not template.issues_at(now):  # retired or its window ended
        return BirthdayReport(template_closed=True)
    first, last = birthday_window(now.astimezone(program.zone).date(), settings.days_ahead)
    issued = skipped = batches = 0
    after: UUID | None = None
    while True:
        due = await calendar.members_due(first, last, after=after, limit=batch_size)
        if not due:
            break
        async with uow_factory() as uow:
            try:
                batch = await issue_birthday_coupons(due, settings, uow, Issuer(now, random, ids))
            except CouponTemplateClosed:  # retired (or ended) while the job ran: stop here
                return BirthdayReport(issued, skipped, batches, template_closed=True)
            await uow.commit()
        issued += batch.issued
        skipped += batch.skipped
        batches += 1
        after = due[-1][0]
    return BirthdayReport(issued, skipped, batches)
