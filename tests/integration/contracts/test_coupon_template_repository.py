"""The coupon template repository's contract: versions, the issued count and its limit."""

from __future__ import annotations

from dataclasses import replace

from tests.integration.contracts.conftest import Backend
from tests.integration.contracts.test_coupon_repository import TEMPLATE


async def test_a_template_keeps_its_issued_count_across_versions(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.coupon_templates.add(TEMPLATE)
        await uow.coupon_templates.count_issued(TEMPLATE.id, 3)
    renamed = replace(TEMPLATE, version=2, name="Ten off")
    async with backend.committed() as uow:
        await uow.coupon_templates.save_version(renamed)
    async with backend.new_uow() as uow:
        assert await uow.coupon_templates.get(TEMPLATE.id) == replace(renamed, issued=3)
        assert await uow.coupon_templates.list(after=None, limit=5) == [replace(renamed, issued=3)]
        assert await uow.coupon_templates.list(after=TEMPLATE.id, limit=5) == []


async def test_a_template_never_issues_beyond_its_total_limit(backend: Backend) -> None:
    limited = replace(TEMPLATE, total_limit=2)
    async with backend.committed() as uow:
        await uow.coupon_templates.add(limited)
        await uow.coupon_templates.count_issued(limited.id, 2)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.coupon_templates.count_issued(limited.id, 1)
