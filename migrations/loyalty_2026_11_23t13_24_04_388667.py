"""Constraints Piccolo cannot express, the append-only ledger, and the programme's defaults.

Every CHECK and UNIQUE here restates a rule of the domain, so that a bug shows up as an
error instead of as bad data.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T13:24:04:388667"
VERSION = "1.38.0"
DESCRIPTION = "constraints, indexes, append-only ledger, defaults"

FORWARDS_SQL = r"""
ALTER TABLE program_settings
    ADD CONSTRAINT program_settings_singleton CHECK (id = 1),
    ADD CONSTRAINT program_settings_currency CHECK (currency ~ '^[A-Z]{3}$'),
    ADD CONSTRAINT program_settings_time_zone CHECK (time_zone <> ''),
    ADD CONSTRAINT program_settings_earn_rate CHECK (earn_rate >= 0),
    ADD CONSTRAINT program_settings_point_value CHECK (point_value > 0),
    ADD CONSTRAINT program_settings_pending_days CHECK (pending_days BETWEEN 0 AND 365),
    ADD CONSTRAINT program_settings_expiry CHECK (
        expiry_kind IN ('never', 'days', 'end_of_month', 'end_of_year')
        AND (expiry_count IS NULL) = (expiry_kind IN ('never', 'end_of_year'))
    );

ALTER TABLE tiers
    ADD CONSTRAINT tiers_code CHECK (code <> ''),
    ADD CONSTRAINT tiers_threshold CHECK (threshold >= 0),
    ADD CONSTRAINT tiers_multiplier CHECK (earn_multiplier BETWEEN 1 AND 10);

ALTER TABLE stores ADD CONSTRAINT stores_code CHECK (code <> '');
ALTER TABLE terminals
    ADD CONSTRAINT terminals_code CHECK (code <> ''),
    ADD CONSTRAINT terminals_store_code UNIQUE (store_id, code);

ALTER TABLE members ADD CONSTRAINT members_phone_e164 CHECK (phone ~ '^\+[1-9][0-9]{6,14}$');
CREATE INDEX members_tier_code ON members (tier_code);

ALTER TABLE member_cards
    ADD CONSTRAINT member_cards_digits CHECK (card_number ~ '^[0-9]{12,19}$'),
    ADD CONSTRAINT member_cards_status CHECK (status IN ('active', 'blocked')),
    ADD CONSTRAINT member_cards_blocked_at CHECK ((status = 'blocked') = (blocked_at IS NOT NULL));
-- A member has exactly one card that works; replaced cards stay, blocked, for lookups.
CREATE UNIQUE INDEX member_cards_one_active ON member_cards (member_id) WHERE status = 'active';
CREATE INDEX member_cards_member ON member_cards (member_id);

ALTER TABLE points_accounts
    ADD CONSTRAINT points_accounts_available CHECK (available >= 0),
    ADD CONSTRAINT points_accounts_pending CHECK (pending >= 0),
    ADD CONSTRAINT points_accounts_debt CHECK (debt >= 0),
    ADD CONSTRAINT points_accounts_debt_or_available CHECK (debt = 0 OR available = 0);

ALTER TABLE points_entries
    ADD CONSTRAINT points_entries_type
        CHECK (entry_type IN ('earn', 'redeem', 'expire', 'reverse', 'restore', 'adjust')),
    ADD CONSTRAINT points_entries_nonzero CHECK (points <> 0),
    ADD CONSTRAINT points_entries_sign CHECK (
        (entry_type IN ('earn', 'restore') AND points > 0)
        OR (entry_type IN ('redeem', 'expire', 'reverse') AND points < 0)
        OR entry_type = 'adjust'
    ),
    ADD CONSTRAINT points_entries_posting_key UNIQUE (member_id, posting_key);
CREATE INDEX points_entries_member_newest ON points_entries (member_id, id DESC);

CREATE FUNCTION loyalty_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER points_entries_append_only BEFORE UPDATE OR DELETE ON points_entries
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();

ALTER TABLE sales
    ADD CONSTRAINT sales_store_receipt UNIQUE (store_id, receipt_id),
    ADD CONSTRAINT sales_receipt_id CHECK (receipt_id <> ''),
    ADD CONSTRAINT sales_channel CHECK (channel IN ('pos', 'web')),
    ADD CONSTRAINT sales_currency CHECK (currency ~ '^[A-Z]{3}$'),
    ADD CONSTRAINT sales_amounts_nonneg CHECK (
        subtotal >= 0 AND discount_total >= 0 AND points_redeemed >= 0
        AND points_value >= 0 AND points_earned >= 0
    ),
    ADD CONSTRAINT sales_payable CHECK (
        payable >= 0 AND payable = subtotal - discount_total - points_value
    ),
    ADD CONSTRAINT sales_refunded CHECK (refunded_amount BETWEEN 0 AND payable),
    ADD CONSTRAINT sales_points_reversed CHECK (points_reversed BETWEEN 0 AND points_earned),
    ADD CONSTRAINT sales_points_need_member CHECK (member_id IS NOT NULL OR points_earned = 0);
CREATE INDEX sales_member_occurred ON sales (member_id, occurred_at) WHERE member_id IS NOT NULL;

ALTER TABLE sale_lines
    ADD CONSTRAINT sale_lines_number UNIQUE (sale_id, line_no),
    ADD CONSTRAINT sale_lines_sku CHECK (sku <> ''),
    ADD CONSTRAINT sale_lines_quantity CHECK (quantity > 0),
    ADD CONSTRAINT sale_lines_unit_price CHECK (unit_price >= 0),
    ADD CONSTRAINT sale_lines_refunded CHECK (refunded_quantity BETWEEN 0 AND quantity);

ALTER TABLE refunds
    ADD CONSTRAINT refunds_sale_refund_id UNIQUE (sale_id, refund_id),
    ADD CONSTRAINT refunds_refund_id CHECK (refund_id <> ''),
    ADD CONSTRAINT refunds_amount CHECK (amount >= 0),
    ADD CONSTRAINT refunds_points_reversed CHECK (points_reversed >= 0);

ALTER TABLE refund_lines ADD CONSTRAINT refund_lines_quantity CHECK (quantity > 0);
CREATE INDEX refund_lines_refund ON refund_lines (refund);

ALTER TABLE idempotency_keys
    ADD CONSTRAINT idempotency_keys_caller_key UNIQUE (caller, key),
    ADD CONSTRAINT idempotency_keys_key CHECK (length(key) BETWEEN 1 AND 255);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

CREATE INDEX audit_log_at ON audit_log (at);

INSERT INTO tiers (code, name, rank, threshold, earn_multiplier)
VALUES ('member', 'Member', 0, 0, 1);

INSERT INTO program_settings (
    id, currency, time_zone, earn_rate, point_value, expiry_kind, expiry_count,
    pending_days, version, updated_at
) VALUES (1, 'CNY', 'Asia/Shanghai', 1, 1, 'never', NULL, 14, 1, now());
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
