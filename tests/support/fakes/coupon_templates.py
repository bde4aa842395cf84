"""Coupon templates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.coupons import CouponTemplate
from tests.support.fakes.common import require


class FakeCouponTemplateRepository:
    def __init__(self) -> None:
        self.templates: dict[UUID, CouponTemplate] = {}
        self.versions: dict[tuple[UUID, int], CouponTemplate] = {}

    async def add(self, template: CouponTemplate) -> None:
        assert template.id not in self.templates
        self.templates[template.id] = template
        self.versions[(template.id, template.version)] = template

    async def get(self, template_id: UUID) -> CouponTemplate | None:
        return self.templates.get(template_id)

    async def get_for_update(self, template_id: UUID) -> CouponTemplate | None:
        return self.templates.get(template_id)

    async def save_version(self, template: CouponTemplate) -> None:
        assert (template.id, template.version) not in self.versions
        issued = self.templates[template.id].issued
        self.templates[template.id] = replace(template, issued=issued)
        self.versions[(template.id, template.version)] = template

    async def retire(self, template_id: UUID, at: datetime) -> None:
        template = self.templates[template_id]
        if template.retired_at is None:
            self.templates[template_id] = replace(template, retired_at=at)

    async def count_issued(self, template_id: UUID, count: int) -> None:
        template = self.templates[template_id]
        issued = template.issued + count
        require(
            template.total_limit is None or issued <= template.total_limit,
            "coupon_templates_issued",
        )
        self.templates[template_id] = replace(template, issued=issued)

    async def list(self, *, after: UUID | None, limit: int) -> Sequence[CouponTemplate]:
        ordered = sorted(self.templates.values(), key=lambda t: t.id)
        return [t for t in ordered if after is None or t.id > after][:limit]
