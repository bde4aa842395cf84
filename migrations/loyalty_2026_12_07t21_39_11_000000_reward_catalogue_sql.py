"""Constraints of the reward catalogue and of guest sale claims.

- catalogue_rewards: the stock is never overdrawn (redeemed <= stock), a coupon reward names
  its template and an item none, the window is ordered;
- reward_redemptions: a cancelled one says when and by whom, a coupon redemption names its
  coupon and an item its fulfilment code; the member's holdings are read by (member, reward);
- coupons may come from the catalogue (source 'reward', once per redemption);
- guest_sale_claims: a claimed sale names its member, when and how.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-12-07T21:39:11:000000"
VERSION = "1.38.0"
DESCRIPTION = "Constraints of the reward catalogue and guest sale claims"

SQL = """
ALTER TABLE catalogue_rewards
    ADD CONSTRAINT catalogue_rewards_kind CHECK (kind IN ('coupon', 'item')),
    ADD CONSTRAINT catalogue_rewards_name CHECK (name <> ''),
    ADD CONSTRAINT catalogue_rewards_points_cost CHECK (points_cost >= 1),
    ADD CONSTRAINT catalogue_rewards_cash_price CHECK (cash_price >= 0),
    ADD CONSTRAINT catalogue_rewards_stock
        CHECK (redeemed >= 0 AND (stock IS NULL OR redeemed <= stock)),
    ADD CONSTRAINT catalogue_rewards_per_member_limit
        CHECK (per_member_limit IS NULL OR per_member_limit >= 1),
    ADD CONSTRAINT catalogue_rewards_template
        CHECK ((kind = 'coupon') = (coupon_template_id IS NOT NULL)),
    ADD CONSTRAINT catalogue_rewards_window
        CHECK (available_from IS NULL OR available_until IS NULL
               OR available_until > available_from);

ALTER TABLE reward_redemptions
    ADD CONSTRAINT reward_redemptions_kind CHECK (kind IN ('coupon', 'item')),
    ADD CONSTRAINT reward_redemptions_points CHECK (points >= 1),
    ADD CONSTRAINT reward_redemptions_cash_price CHECK (cash_price >= 0),
    ADD CONSTRAINT reward_redemptions_status
        CHECK (status IN ('issued', 'fulfilled', 'cancelled')),
    ADD CONSTRAINT reward_redemptions_cancelled CHECK (
        (status = 'cancelled') = (cancelled_at IS NOT NULL)
        AND (status = 'cancelled') = (cancelled_by IS NOT NULL)
    ),
    ADD CONSTRAINT reward_redemptions_what CHECK (
        (kind = 'coupon' AND coupon_id IS NOT NULL AND fulfilment_code IS NULL)
        OR (kind = 'item' AND coupon_id IS NULL AND fulfilment_code IS NOT NULL)
    );
CREATE INDEX reward_redemptions_member ON reward_redemptions (member_id, reward_id)
    WHERE status <> 'cancelled';
CREATE INDEX reward_redemptions_member_time ON reward_redemptions (member_id, redeemed_at DESC);

ALTER TABLE coupons DROP CONSTRAINT coupons_source;
ALTER TABLE coupons ADD CONSTRAINT coupons_source
    CHECK (source IN ('admin', 'review', 'draw', 'birthday', 'campaign', 'reward'));

ALTER TABLE program_settings
    ADD CONSTRAINT program_settings_guest_claim_days CHECK (guest_claim_days BETWEEN 0 AND 365);

ALTER TABLE guest_sale_claims
    ADD CONSTRAINT guest_sale_claims_claimed CHECK (
        (member_id IS NULL) = (claimed_at IS NULL)
        AND (member_id IS NULL) = (claimed_via IS NULL)
    ),
    ADD CONSTRAINT guest_sale_claims_via CHECK (claimed_via IN ('app', 'pos'));
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, DESCRIPTION, SQL)
