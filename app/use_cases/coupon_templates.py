"""Coupon templates: what admins define, versioned so that issued coupons keep their terms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithAudit, WithCoupons, WithCouponTemplates
from domain.coupons import CouponTemplate, CouponTerms, Validity
from domain.errors import CouponTemplateNotFound, InvalidInput
from domain.ports import Clock, IdGenerator
from domain.repositories import AuditRecord


class CouponTemplatesUnit(WithAudit, WithCouponTemplates, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class TemplateDefinition:
    name: str
    terms: CouponTerms
    validity: Validity
    per_member_limit: int | None = None
    total_limit: int | None = None


def _audit_details(template: CouponTemplate) -> dict[str, object]:
    terms = template.terms
    validity = template.validity
    return {
        "version": template.version,
        "name": template.name,
        "kind": terms.kind.value,
        "value": terms.value,
        "min_spend": terms.min_spend,
        "channels": sorted(terms.channels),
        "stackable": terms.stackable,
        "categories": sorted(terms.categories),
        "valid_days": validity.valid_days,
        "valid_from": validity.valid_from.isoformat() if validity.valid_from else None,
        "valid_until": validity.valid_until.isoformat() if validity.valid_until else None,
        "per_member_limit": template.per_member_limit,
        "total_limit": template.total_limit,
    }


def _version(
    template: CouponTemplate, definition: TemplateDefinition, *, version: int, at: datetime
) -> CouponTemplate:
    """``template`` as ``definition`` says, numbered ``version``."""
    return replace(
        template,
        version=version,
        name=definition.name.strip(),
        terms=definition.terms,
        validity=definition.validity,
        per_member_limit=definition.per_member_limit,
        total_limit=definition.total_limit,
        created_at=at,
    )


async def create_template(
    definition: TemplateDefinition,
    actor: str,
    uow: CouponTemplatesUnit,
    *,
    clock: Clock,
    ids: IdGenerator,
) -> CouponTemplate:
    blank = CouponTemplate(ids.new_id(), 0, definition.name, definition.terms, definition.validity)
    template = _version(blank, definition, version=1, at=clock.now())
    await uow.coupon_templates.add(template)
    await uow.audit.record(
        AuditRecord(
            actor,
            "coupon_template.created",
            f"coupon_template:{template.id}",
            _audit_details(template),
        )
    )
    return template


async def revise_template(
    template_id: UUID,
    definition: TemplateDefinition,
    actor: str,
    uow: CouponTemplatesUnit,
    *,
    clock: Clock,
) -> CouponTemplate:
    """The template's next version; coupons already issued keep the terms they have."""
    current = await uow.coupon_templates.get_for_update(template_id)
    if current is None:
        raise CouponTemplateNotFound()
    if definition.total_limit is not None and definition.total_limit < current.issued:
        raise InvalidInput(
            f"{current.issued} coupons were already issued from this template; the total "
            "limit cannot be lower",
            field="total_limit",
        )
    revised = _version(current, definition, version=current.version + 1, at=clock.now())
    await uow.coupon_templates.save_version(revised)
    await uow.audit.record(
        AuditRecord(
            actor,
            "coupon_template.revised",
            f"coupon_template:{template_id}",
            _audit_details(revised),
        )
    )
    return revised


async def get_template(template_id: UUID, uow: CouponTemplatesUnit) -> CouponTemplate:
    template = await uow.coupon_templates.get(template_id)
    if template is None:
        raise CouponTemplateNotFound()
    return template


async def list_templates(
    uow: CouponTemplatesUnit, *, after: UUID | None, limit: int
) -> Sequence[CouponTemplate]:
    return await uow.coupon_templates.list(after=after, limit=limit)


@dataclass(frozen=True, slots=True)
class RetireTemplate:
    template_id: UUID
    actor: str
    reason: str | None = None


async def retire_template(
    cmd: RetireTemplate, uow: CouponTemplatesUnit, *, clock: Clock
) -> CouponTemplate:
    """Retires the template for good: nothing issues from it any more (admins, segment
    campaigns, review and birthday rewards, draw prizes), and the coupons already issued stay
    valid on their own terms. Takes the template's lock, the lock every issue holds, so an
    issue running now finishes first and the next one sees the retirement. Retiring a retired
    template changes nothing and is not audited again."""
    current = await uow.coupon_templates.get_for_update(cmd.template_id)
    if current is None:
        raise CouponTemplateNotFound()
    if not current.active:
        return current
    now = clock.now()
    await uow.coupon_templates.retire(current.id, now)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "coupon_template.retired",
            f"coupon_template:{current.id}",
            {"version": current.version, "issued": current.issued, "reason": cmd.reason},
        )
    )
    return replace(current, retired_at=now)


class RedeemedCountsUnit(WithCoupons, Protocol):
    """What ``redeemed_counts`` uses of the unit of work."""


async def redeemed_counts(template_ids: Sequence[UUID], uow: RedeemedCountsUnit) -> dict[UUID, int]:
    """How many coupons of each template are redeemed now (0 for one with none)."""
    counts = await uow.coupons.redeemed_counts(template_ids)
    return {template_id: counts.get(template_id, 0) for template_id in template_ids}
