"""Coupon templates, issued coupons and reward settings on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from adapters.persistence.session import connection
from adapters.persistence.tables import (
    CouponRow,
    CouponTemplateRow,
    CouponTemplateVersionRow,
    RewardSettingsRow,
)
from domain.coupon_repositories import BirthdayReward, CampaignSkip, IssuedFrom, ReviewReward
from domain.coupons import (
    Coupon,
    CouponKind,
    CouponSource,
    CouponStatus,
    CouponTemplate,
    CouponTerms,
    Validity,
)


def _template_values(template: CouponTemplate) -> dict[Any, Any]:
    terms, validity = template.terms, template.validity
    return {
        CouponTemplateRow.version: template.version,
        CouponTemplateRow.name: template.name,
        CouponTemplateRow.kind: terms.kind.value,
        CouponTemplateRow.value: terms.value,
        CouponTemplateRow.min_spend: terms.min_spend,
        CouponTemplateRow.channels: sorted(terms.channels),
        CouponTemplateRow.stackable: terms.stackable,
        CouponTemplateRow.categories: sorted(terms.categories),
        CouponTemplateRow.valid_days: validity.valid_days,
        CouponTemplateRow.valid_from: validity.valid_from,
        CouponTemplateRow.valid_until: validity.valid_until,
        CouponTemplateRow.per_member_limit: template.per_member_limit,
        CouponTemplateRow.total_limit: template.total_limit,
    }


def _definition(template: CouponTemplate) -> dict[str, Any]:
    """A version's terms as kept in its history row."""
    return {
        column._meta.name: (value.isoformat() if isinstance(value, datetime) else value)
        for column, value in _template_values(template).items()
    }


def _template(row: dict[str, Any]) -> CouponTemplate:
    return CouponTemplate(
        id=row["id"],
        version=row["version"],
        name=row["name"],
        terms=_terms(row),
        validity=Validity(row["valid_days"], row["valid_from"], row["valid_until"]),
        per_member_limit=row["per_member_limit"],
        total_limit=row["total_limit"],
        issued=row["issued"],
        created_at=row["created_at"],
        retired_at=row.get("retired_at"),
    )


def _terms(row: dict[str, Any]) -> CouponTerms:
    return CouponTerms(
        kind=CouponKind(row["kind"]),
        value=row["value"],
        min_spend=row["min_spend"],
        channels=frozenset(row["channels"]),
        stackable=row["stackable"],
        categories=frozenset(row["categories"] or ()),
    )


def _coupon(row: dict[str, Any]) -> Coupon:
    return Coupon(
        id=row["id"],
        code=row["code"],
        member_id=row["member_id"],
        template_id=row["template_id"],
        template_version=row["template_version"],
        title=row["title"],
        terms=_terms(row),
        valid_from=row["valid_from"],
        expires_at=row["expires_at"],
        issued_at=row["issued_at"],
        source=CouponSource(row["source"]),
        status=CouponStatus(row["status"]),
        redeemed_at=row["redeemed_at"],
        redeemed_sale_id=row["redeemed_sale_id"],
    )


class PostgresCouponTemplateRepository:
    async def add(self, template: CouponTemplate) -> None:
        assert template.created_at is not None
        values = {c._meta.name: v for c, v in _template_values(template).items()}
        await CouponTemplateRow.insert(
            CouponTemplateRow(
                id=template.id,
                issued=0,
                created_at=template.created_at,
                updated_at=template.created_at,
                **values,
            )
        )
        await self._keep_version(template)

    async def save_version(self, template: CouponTemplate) -> None:
        assert template.created_at is not None
        await CouponTemplateRow.update(
            {**_template_values(template), CouponTemplateRow.updated_at: template.created_at}
        ).where(CouponTemplateRow.id == template.id)
        await self._keep_version(template)

    async def _keep_version(self, template: CouponTemplate) -> None:
        await CouponTemplateVersionRow.insert(
            CouponTemplateVersionRow(
                template_id=template.id,
                version=template.version,
                definition=json.dumps(_definition(template)),
                created_at=template.created_at,
            )
        )

    async def get(self, template_id: UUID) -> CouponTemplate | None:
        row = await CouponTemplateRow.select().where(CouponTemplateRow.id == template_id).first()
        return _template(row) if row else None

    async def get_for_update(self, template_id: UUID) -> CouponTemplate | None:
        row = (
            await CouponTemplateRow.select()
            .where(CouponTemplateRow.id == template_id)
            .lock_rows("UPDATE")
            .first()
        )
        return _template(row) if row else None

    async def retire(self, template_id: UUID, at: datetime) -> None:
        await CouponTemplateRow.update({CouponTemplateRow.retired_at: at}).where(
            (CouponTemplateRow.id == template_id) & CouponTemplateRow.retired_at.is_null()
        )

    async def count_issued(self, template_id: UUID, count: int) -> None:
        await CouponTemplateRow.update(
            {CouponTemplateRow.issued: CouponTemplateRow.issued + count}
        ).where(CouponTemplateRow.id == template_id)

    async def list(self, *, after: UUID | None, limit: int) -> Sequence[CouponTemplate]:
        query = CouponTemplateRow.select().order_by(CouponTemplateRow.id).limit(limit)
        if after is not None:
            query = query.where(CouponTemplateRow.id > after)
        return [_template(row) for row in await query]


# $1 key, $2 template, $3 member ids, $4 reasons, $5 at; one row per member, the latest reason.
_RECORD_SKIPS = """
INSERT INTO coupon_campaign_skips (campaign_key, template_id, member_id, reason, skipped_at)
SELECT $1, $2, s.member_id, s.reason, $5
FROM unnest($3::uuid[], $4::text[]) AS s(member_id, reason)
ON CONFLICT (campaign_key, member_id) DO UPDATE
SET template_id = EXCLUDED.template_id, reason = EXCLUDED.reason,
    skipped_at = EXCLUDED.skipped_at
"""

_INSERT_COUPONS = """
INSERT INTO coupons (
    id, code, member_id, template_id, template_version, title, kind, value, min_spend,
    channels, stackable, categories, valid_from, expires_at, issued_at, source, source_ref,
    status, updated_at)
SELECT c.id, c.code, c.member_id, c.template_id, c.template_version, c.title, c.kind,
       c.value, c.min_spend, c.channels::varchar[], c.stackable, c.categories::varchar[],
       c.valid_from, c.expires_at, c.issued_at, {}, {}, 'available', c.issued_at
FROM jsonb_to_recordset({}::jsonb) AS c(
    id uuid, code text, member_id uuid, template_id uuid, template_version int, title text,
    kind text, value bigint, min_spend bigint, channels text[], stackable boolean,
    categories text[], valid_from timestamptz, expires_at timestamptz, issued_at timestamptz)
ON CONFLICT DO NOTHING
RETURNING id
"""

_REDEEM = """
WITH redeemed AS (
    UPDATE coupons
    SET status = 'redeemed', redeemed_at = c.now, redeemed_sale_id = c.sale_id,
        updated_at = c.now
    FROM (SELECT $1::timestamptz AS now, $2::uuid AS sale_id) AS c
    WHERE coupons.id = ANY($3::uuid[]) AND coupons.member_id = $4
      AND coupons.status = 'available'
      AND coupons.valid_from <= c.now AND coupons.expires_at > c.now
    RETURNING 1
)
SELECT count(*) AS n FROM redeemed
"""

# {now} {sale_id}
_RESTORE = """
UPDATE coupons
SET status = 'available', redeemed_at = NULL, redeemed_sale_id = NULL, updated_at = c.now
FROM (SELECT {}::timestamptz AS now) AS c
WHERE coupons.redeemed_sale_id = {} AND coupons.status = 'redeemed' AND coupons.expires_at > c.now
RETURNING coupons.*
"""

# What a member sees: an available coupon past its end is expired, job or no job.
_EFFECTIVE_STATUS = (
    "CASE WHEN status = 'available' AND expires_at <= {now} THEN 'expired' ELSE status END"
)


class PostgresCouponRepository:
    async def add(self, coupons: Sequence[Coupon], origin: IssuedFrom) -> set[UUID]:
        if not coupons:
            return set()
        records = [
            {
                "id": str(c.id),
                "code": c.code,
                "member_id": str(c.member_id),
                "template_id": str(c.template_id),
                "template_version": c.template_version,
                "title": c.title,
                "kind": c.terms.kind.value,
                "value": c.terms.value,
                "min_spend": c.terms.min_spend,
                "channels": sorted(c.terms.channels),
                "stackable": c.terms.stackable,
                "categories": sorted(c.terms.categories),
                "valid_from": c.valid_from.isoformat(),
                "expires_at": c.expires_at.isoformat(),
                "issued_at": c.issued_at.isoformat(),
            }
            for c in coupons
        ]
        rows = await CouponRow.raw(
            _INSERT_COUPONS, origin.source.value, origin.ref, json.dumps(records)
        )
        return {row["id"] for row in rows}

    async def by_codes(self, codes: Collection[str]) -> dict[str, Coupon]:
        if not codes:
            return {}
        rows = await connection().fetch(
            "SELECT * FROM coupons WHERE code = ANY($1::text[])", list(codes)
        )
        return {row["code"]: _coupon(row) for row in rows}

    async def get(self, coupon_id: UUID) -> Coupon | None:
        row = await CouponRow.select().where(CouponRow.id == coupon_id).first()
        return _coupon(row) if row else None

    async def per_member_counts(
        self, template_id: UUID, member_ids: Collection[UUID]
    ) -> dict[UUID, int]:
        if not member_ids:
            return {}
        rows = await CouponRow.raw(
            "SELECT member_id, count(*) AS n FROM coupons "
            "WHERE template_id = {} AND member_id = ANY({}::uuid[]) GROUP BY member_id",
            template_id,
            list(member_ids),
        )
        return {row["member_id"]: row["n"] for row in rows}

    async def redeemed_counts(self, template_ids: Collection[UUID]) -> dict[UUID, int]:
        if not template_ids:
            return {}
        # redeemed_sale_id is set exactly on redeemed coupons (coupons_redeemed_by_a_sale):
        # the partial index coupons_redeemed_sale reads only those.
        rows = await CouponRow.raw(
            "SELECT template_id, count(*) AS n FROM coupons WHERE redeemed_sale_id IS NOT NULL "
            "AND template_id = ANY({}::uuid[]) GROUP BY template_id",
            list(template_ids),
        )
        return {row["template_id"]: row["n"] for row in rows}

    async def holders(self, origin: IssuedFrom, member_ids: Collection[UUID]) -> set[UUID]:
        if origin.ref is None or not member_ids:
            return set()
        rows = await CouponRow.raw(
            "SELECT member_id FROM coupons WHERE source = {} AND source_ref = {} "
            "AND member_id = ANY({}::uuid[])",
            origin.source.value,
            origin.ref,
            list(member_ids),
        )
        return {row["member_id"] for row in rows}

    async def from_origin(self, origin: IssuedFrom, member_id: UUID) -> Coupon | None:
        if origin.ref is None:
            return None
        row = (
            await CouponRow.select()
            .where(
                (CouponRow.source == origin.source.value)
                & (CouponRow.source_ref == origin.ref)
                & (CouponRow.member_id == member_id)
            )
            .first()
        )
        return _coupon(row) if row else None

    async def redeem(
        self, coupon_ids: Sequence[UUID], member_id: UUID, sale_id: UUID, now: datetime
    ) -> int:
        # No lock ordering needed: coupons belong to one member, and every sale locks its
        # member's points account before it redeems, so two sales never hold coupon locks the
        # other wants. The status test in the UPDATE is what lets only one of them through.
        ids = sorted(coupon_ids)
        redeemed: int = await connection().fetchval(_REDEEM, now, sale_id, ids, member_id)
        return redeemed

    async def restore_for_sale(self, sale_id: UUID, now: datetime) -> list[Coupon]:
        rows = await CouponRow.raw(_RESTORE, now, sale_id)
        return [_coupon(row) for row in rows]

    async def void(self, coupon_id: UUID, now: datetime) -> bool:
        rows = await CouponRow.raw(
            "UPDATE coupons SET status = 'voided', updated_at = {} "
            "WHERE id = {} AND status = 'available' RETURNING id",
            now,
            coupon_id,
        )
        return bool(rows)

    async def record_campaign(
        self,
        campaign_key: str,
        template_id: UUID,
        *,
        reached: Collection[UUID],
        skipped: Sequence[tuple[UUID, str]],
        at: datetime,
    ) -> None:
        db = connection()
        if reached:
            await db.execute(
                "DELETE FROM coupon_campaign_skips "
                "WHERE campaign_key = $1 AND member_id = ANY($2::uuid[])",
                campaign_key,
                list(reached),
            )
        if skipped:
            await db.execute(
                _RECORD_SKIPS,
                campaign_key,
                template_id,
                [member_id for member_id, _ in skipped],
                [reason for _, reason in skipped],
                at,
            )

    async def campaign_recipients(
        self, campaign_key: str, *, after: UUID | None, limit: int
    ) -> Sequence[Coupon]:
        # coupons_once_per_origin (source, source_ref, member_id) serves both the filter and
        # the order.
        rows = await connection().fetch(
            "SELECT * FROM coupons WHERE source = 'campaign' AND source_ref = $1 "
            "AND ($2::uuid IS NULL OR member_id > $2) ORDER BY member_id LIMIT $3",
            campaign_key,
            after,
            limit,
        )
        return [_coupon(row) for row in rows]

    async def campaign_skips(
        self, campaign_key: str, *, after: UUID | None, limit: int
    ) -> Sequence[CampaignSkip]:
        rows = await connection().fetch(
            "SELECT member_id, template_id, reason, skipped_at FROM coupon_campaign_skips "
            "WHERE campaign_key = $1 AND ($2::uuid IS NULL OR member_id > $2) "
            "ORDER BY member_id LIMIT $3",
            campaign_key,
            after,
            limit,
        )
        return [CampaignSkip(**dict(row)) for row in rows]

    async def of_member(
        self,
        member_id: UUID,
        *,
        status: CouponStatus | None,
        now: datetime,
        after: UUID | None,
        limit: int,
    ) -> Sequence[Coupon]:
        effective = _EFFECTIVE_STATUS.format(now="{}")
        conditions = ["member_id = {}"]
        args: list[Any] = [member_id]
        if status is not None:
            conditions.append(f"{effective} = {{}}")
            args += [now, status.value]
        if after is not None:
            conditions.append("(issued_at, id) < (SELECT issued_at, id FROM coupons WHERE id = {})")
            args.append(after)
        rows = await CouponRow.raw(
            f"SELECT * FROM coupons WHERE {' AND '.join(conditions)} "  # noqa: S608 (fixed fragments)
            "ORDER BY issued_at DESC, id DESC LIMIT {}",
            *args,
            limit,
        )
        return [_coupon(row) for row in rows]

    async def usable(self, member_id: UUID, now: datetime, channel: str) -> Sequence[Coupon]:
        rows = await CouponRow.raw(
            "SELECT * FROM coupons WHERE member_id = {} AND status = 'available' "
            "AND valid_from <= {} AND expires_at > {} AND {} = ANY(channels) "
            "ORDER BY expires_at, id LIMIT 100",
            member_id,
            now,
            now,
            channel,
        )
        return [_coupon(row) for row in rows]


class PostgresRewardSettingsRepository:
    async def review_reward(self) -> ReviewReward:
        row = await RewardSettingsRow.select().where(RewardSettingsRow.kind == "review").first()
        if row is None:
            return ReviewReward()
        return ReviewReward(row["enabled"], row["min_rating"], row["template_id"], row["version"])

    async def save_review_reward(self, settings: ReviewReward) -> None:
        await self._save(
            "review",
            settings.enabled,
            settings.template_id,
            settings.version,
            min_rating=settings.min_rating,
        )

    async def birthday_reward(self) -> BirthdayReward:
        row = await RewardSettingsRow.select().where(RewardSettingsRow.kind == "birthday").first()
        if row is None:
            return BirthdayReward()
        return BirthdayReward(row["enabled"], row["template_id"], row["days_ahead"], row["version"])

    async def save_birthday_reward(self, settings: BirthdayReward) -> None:
        await self._save(
            "birthday",
            settings.enabled,
            settings.template_id,
            settings.version,
            days_ahead=settings.days_ahead,
        )

    async def _save(
        self,
        kind: str,
        enabled: bool,
        template_id: UUID | None,
        version: int,
        *,
        min_rating: int | None = None,
        days_ahead: int | None = None,
    ) -> None:
        await RewardSettingsRow.raw(
            "INSERT INTO reward_settings "
            "(kind, enabled, template_id, min_rating, days_ahead, version, updated_at) "
            "VALUES ({}, {}, {}, {}, {}, {}, {}) "
            "ON CONFLICT (kind) DO UPDATE SET enabled = excluded.enabled, "
            "template_id = excluded.template_id, min_rating = excluded.min_rating, "
            "days_ahead = excluded.days_ahead, version = excluded.version, "
            "updated_at = excluded.updated_at",
            kind,
            enabled,
            template_id,
            min_rating,
            days_ahead,
            version,
            datetime.now(UTC),
        )
