"""Constraints and indexes backing the coupon and draw rules.

- a coupon code is unique (the column) and canonical: 15 Crockford base32 symbols;
- one coupon per member per origin with a ref (review of an order, birthday of a year, a
  campaign key, a draw chance), whatever races the issuers run;
- a redeemed coupon names its sale and only a redeemed one does;
- stock never goes below zero, weights are positive, one prize code per campaign;
- statuses, kinds and channels are the domain's values.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T15:48:16:605244"
VERSION = "1.38.0"
DESCRIPTION = "coupon and draw constraints"

FORWARDS_SQL = """
ALTER TABLE coupon_templates
    ADD CONSTRAINT coupon_templates_kind CHECK (kind IN ('fixed', 'percent')),
    ADD CONSTRAINT coupon_templates_value CHECK (
        value >= 1 AND (kind <> 'percent' OR value <= 100)),
    ADD CONSTRAINT coupon_templates_min_spend CHECK (min_spend >= 0),
    ADD CONSTRAINT coupon_templates_channels CHECK (
        cardinality(channels) >= 1 AND channels <@ ARRAY['pos', 'web']::varchar[]),
    ADD CONSTRAINT coupon_templates_validity CHECK (
        (valid_days IS NOT NULL AND valid_days >= 1
            AND valid_from IS NULL AND valid_until IS NULL)
        OR (valid_days IS NULL AND valid_from IS NOT NULL AND valid_until > valid_from)),
    ADD CONSTRAINT coupon_templates_limits CHECK (
        (per_member_limit IS NULL OR per_member_limit >= 1)
        AND (total_limit IS NULL OR total_limit >= 1)),
    ADD CONSTRAINT coupon_templates_issued CHECK (
        issued >= 0 AND (total_limit IS NULL OR issued <= total_limit));

ALTER TABLE coupon_template_versions
    ADD CONSTRAINT coupon_template_versions_unique UNIQUE (template_id, version);

ALTER TABLE coupons
    ADD CONSTRAINT coupons_code_canonical CHECK (code ~ '^[0-9A-HJKMNP-TV-Z]{15}$'),
    ADD CONSTRAINT coupons_kind CHECK (kind IN ('fixed', 'percent')),
    ADD CONSTRAINT coupons_value CHECK (value >= 1 AND (kind <> 'percent' OR value <= 100)),
    ADD CONSTRAINT coupons_min_spend CHECK (min_spend >= 0),
    ADD CONSTRAINT coupons_window CHECK (expires_at > valid_from),
    ADD CONSTRAINT coupons_source CHECK (
        source IN ('admin', 'review', 'draw', 'birthday', 'campaign')),
    ADD CONSTRAINT coupons_status CHECK (
        status IN ('available', 'redeemed', 'expired', 'voided')),
    ADD CONSTRAINT coupons_redeemed_by_a_sale CHECK (
        (status = 'redeemed') = (redeemed_sale_id IS NOT NULL)
        AND (status = 'redeemed') = (redeemed_at IS NOT NULL));
CREATE UNIQUE INDEX coupons_once_per_origin ON coupons (source, source_ref, member_id)
    WHERE source_ref IS NOT NULL;
CREATE INDEX coupons_member ON coupons (member_id, issued_at DESC, id);
CREATE INDEX coupons_template_member ON coupons (template_id, member_id);
CREATE INDEX coupons_redeemed_sale ON coupons (redeemed_sale_id)
    WHERE redeemed_sale_id IS NOT NULL;
CREATE INDEX coupons_available_expiry ON coupons (expires_at) WHERE status = 'available';

ALTER TABLE reward_settings
    ADD CONSTRAINT reward_settings_kind CHECK (kind IN ('review', 'birthday')),
    ADD CONSTRAINT reward_settings_min_rating CHECK (min_rating BETWEEN 1 AND 5),
    ADD CONSTRAINT reward_settings_days_ahead CHECK (days_ahead BETWEEN 0 AND 60),
    ADD CONSTRAINT reward_settings_enabled_has_template CHECK (
        NOT enabled OR template_id IS NOT NULL);

ALTER TABLE draw_campaigns
    ADD CONSTRAINT draw_campaigns_threshold CHECK (threshold >= 1),
    ADD CONSTRAINT draw_campaigns_chances CHECK (chances IN ('one', 'per_multiple')),
    ADD CONSTRAINT draw_campaigns_valid_days CHECK (chance_valid_days >= 1),
    ADD CONSTRAINT draw_campaigns_window CHECK (ends_at > starts_at);
CREATE INDEX draw_campaigns_window ON draw_campaigns (starts_at, ends_at);

ALTER TABLE draw_prizes
    ADD CONSTRAINT draw_prizes_code UNIQUE (campaign_id, code),
    ADD CONSTRAINT draw_prizes_weight CHECK (weight >= 1),
    ADD CONSTRAINT draw_prizes_stock CHECK (stock IS NULL OR stock >= 0);

ALTER TABLE draw_chances
    ADD CONSTRAINT draw_chances_status CHECK (status IN ('unplayed', 'played', 'revoked')),
    ADD CONSTRAINT draw_chances_played CHECK (
        (status = 'unplayed') = (played_at IS NULL) OR status = 'revoked'),
    ADD CONSTRAINT draw_chances_window CHECK (expires_at > granted_at);
CREATE INDEX draw_chances_member ON draw_chances (member_id, expires_at, id)
    WHERE status = 'unplayed';
CREATE INDEX draw_chances_sale ON draw_chances (sale_id);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
