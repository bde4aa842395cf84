"""The baseline: the whole schema in one step, as the migrations before it had built it.

migrations/baseline.sql creates it: plain SQL grouped by aggregate, with the reasons for its
constraints, functions and triggers. It replaced, twice, chains of migrations that had never
been deployed: the 24 migrations of the first days (proved identical with
`python -m tests.support.compare_schemas ec65ef3`), then the 15 of 2026-12-07 that added staff,
terminal lifecycle, consent, outbound webhooks, earning rules, message templates and the reward
catalogue (proved identical, pg_dump and catalogue facts, with
`python -m tests.support.compare_schemas 9f00d3b`).

Piccolo needs more than SQL: `piccolo migrations new loyalty --auto` diffs tables.py against
the schema it rebuilds from the operations the migrations record. So this migration records
the tables below (adapters/persistence/tables.py as it was at the baseline) as add_table and
add_column operations, and runs only the SQL (adapters/persistence/raw_migration.py,
SqlBaseline). These classes are frozen: change tables.py, never them, and let --auto write
the migration that gets from them to tables.py.

How later migrations attach: Piccolo runs the migrations of this folder in the order of their
IDs and records each in the `migration` table. This ID is that of the last migration the
baseline replaced, so
- a migration generated after it (`piccolo migrations new loyalty --auto`, an ID with a later
  timestamp) runs after it, whether it was written before or after the squash: its --auto diff
  started from the same schema;
- a database migrated by the old chain to its end already holds this ID: it counts as at the
  baseline and only gets the migrations after it.
"""

from pathlib import Path
from typing import Any

from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.table import Table

from adapters.persistence.raw_migration import sql_baseline

ID = "2026-12-07T21:39:11:000000"
VERSION = "1.38.0"
DESCRIPTION = "baseline: the whole schema (baseline.sql)"

SQL = Path(__file__).with_name("baseline.sql")

RESTRICT: dict[str, Any] = {"on_delete": OnDelete.restrict, "on_update": OnUpdate.restrict}
REQUIRED: dict[str, Any] = {"null": False, **RESTRICT}


# adapters/persistence/tables.py at the baseline, without its comments (they are in baseline.sql).


class ProgramSettingsRow(Table, tablename="program_settings"):
    id = Integer(primary_key=True)
    currency = Varchar(length=3)
    time_zone = Varchar(length=64)
    earn_rate = Numeric(digits=(12, 4))
    point_value = Numeric(digits=(12, 4))
    expiry_kind = Varchar(length=16, default="never")
    expiry_count = Integer(null=True, default=None)
    pending_days = Integer(default=14)
    version = Integer(default=1)
    updated_at = Timestamptz()
    crm_new_days = Integer(default=30)
    crm_dormant_days = Integer(default=90)
    crm_churned_days = Integer(default=180)
    crm_follow_up_days = Integer(default=7)
    refunds_at_any_store = Boolean(default=True)
    guest_claim_days = Integer(default=30)


class TierRow(Table, tablename="tiers"):
    code = Varchar(length=32, primary_key=True)
    name = Varchar(length=100)
    rank = Integer(unique=True)
    threshold = BigInt()
    earn_multiplier = Numeric(digits=(6, 3))


class StoreRow(Table, tablename="stores"):
    id = UUID(primary_key=True)
    code = Varchar(length=64, unique=True)
    name = Varchar(length=200)
    created_at = Timestamptz()


class TerminalRow(Table, tablename="terminals"):
    id = UUID(primary_key=True)
    store_id = ForeignKey(StoreRow, **REQUIRED)
    code = Varchar(length=64)
    secret_hash = Varchar(length=128)
    active = Boolean(default=True)
    created_at = Timestamptz()
    secret_version = Integer(default=1)
    deactivated_at = Timestamptz(null=True, default=None)


class MemberRow(Table, tablename="members"):
    id = UUID(primary_key=True)
    phone = Varchar(length=16, unique=True, null=True, default=None)
    name = Varchar(length=100, null=True, default=None)
    email = Varchar(length=254, null=True, default=None)
    birthday = Date(null=True, default=None)
    tier_code = ForeignKey(TierRow, target_column="code", **REQUIRED)
    enrolled_store_id = ForeignKey(StoreRow, null=True, default=None, **RESTRICT)
    enrolled_at = Timestamptz()
    tier_short_since = Timestamptz(null=True, default=None)
    tier_manual_until = Timestamptz(null=True, default=None)
    region = Varchar(length=64, null=True, default=None)
    preferred_language = Varchar(length=35, null=True, default=None)
    consent_sms = Boolean(default=False)
    consent_email = Boolean(default=False)
    consent_push = Boolean(default=False)


class MemberConsentChangeRow(Table, tablename="member_consent_changes"):
    id = BigSerial(primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    channel = Varchar(length=8)
    granted = Boolean()
    changed_at = Timestamptz()
    source = Varchar(length=16)
    actor = Varchar(length=200, null=True, default=None)


class TierPolicyRow(Table, tablename="tier_policies"):
    version = Integer(primary_key=True)
    window_days = Integer()
    grace_days = Integer()
    tiers = JSONB()
    actor = Varchar(length=200)
    created_at = Timestamptz()


class TierChangeRow(Table, tablename="tier_changes"):
    id = BigSerial(primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    from_code = Varchar(length=32)
    to_code = Varchar(length=32)
    reason = Varchar(length=16)
    at = Timestamptz()
    actor = Varchar(length=200, null=True, default=None)
    note = Varchar(length=500, null=True, default=None)
    policy_version = Integer()


class MemberCardRow(Table, tablename="member_cards"):
    card_number = Varchar(length=19, primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    status = Varchar(length=16, default="active")
    issued_at = Timestamptz()
    blocked_at = Timestamptz(null=True, default=None)


class PointsAccountRow(Table, tablename="points_accounts"):
    member_id = ForeignKey(MemberRow, primary_key=True, **REQUIRED)
    available = BigInt(default=0)
    pending = BigInt(default=0)
    debt = BigInt(default=0)
    updated_at = Timestamptz()


class PointsEntryRow(Table, tablename="points_entries"):
    id = BigSerial(primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    entry_type = Varchar(length=16)
    points = BigInt()
    reference = Varchar(length=128)
    posting_key = Varchar(length=200)
    created_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)
    actor = Varchar(length=200, null=True, default=None)
    reason = Varchar(length=500, null=True, default=None)
    seq = BigInt(default=0)
    prev_hash = Bytea(null=True, default=None)
    entry_hash = Bytea(null=True, default=None)


class PointsLotRow(Table, tablename="points_lots"):
    id = BigSerial(primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    reference = Varchar(length=128)
    earned_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)
    points = BigInt()
    remaining = BigInt()
    pending = Boolean(default=False)
    release_at = Timestamptz(null=True, default=None)
    frozen = Boolean(default=False)


class PointsLotMovementRow(Table, tablename="points_lot_movements"):
    id = BigSerial(primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    entry_id = ForeignKey(PointsEntryRow, **REQUIRED)
    lot_id = ForeignKey(PointsLotRow, **REQUIRED)
    points = BigInt()


class SaleRow(Table, tablename="sales"):
    id = UUID(primary_key=True)
    store_id = ForeignKey(StoreRow, **REQUIRED)
    terminal_id = ForeignKey(TerminalRow, null=True, default=None, **RESTRICT)
    receipt_id = Varchar(length=64)
    member_id = ForeignKey(MemberRow, null=True, default=None, **RESTRICT)
    channel = Varchar(length=8, default="pos")
    currency = Varchar(length=3)
    occurred_at = Timestamptz()
    recorded_at = Timestamptz()
    subtotal = BigInt()
    discount_total = BigInt(default=0)
    points_redeemed = BigInt(default=0)
    points_value = BigInt(default=0)
    payable = BigInt()
    points_earned = BigInt(default=0)
    refunded_amount = BigInt(default=0)
    points_reversed = BigInt(default=0)
    points_restored = BigInt(default=0)
    imported_from = Varchar(length=32, null=True, default=None)
    points_breakdown = JSONB(null=True, default=None)
    refunded_by_amount = BigInt(default=0)


class EarningRuleRow(Table, tablename="earning_rules"):
    id = UUID(primary_key=True)
    version = Integer()
    name = Varchar(length=120)
    status = Varchar(length=8)
    priority = Integer(default=0)
    document = JSONB()
    created_at = Timestamptz()
    updated_at = Timestamptz()


class EarningRuleVersionRow(Table, tablename="earning_rule_versions"):
    id = BigSerial(primary_key=True)
    rule_id = ForeignKey(EarningRuleRow, **REQUIRED)
    version = Integer()
    document = JSONB()
    actor = Varchar(length=200)
    created_at = Timestamptz()


class EarningRuleBudgetRow(Table, tablename="earning_rule_budgets"):
    rule_id = ForeignKey(EarningRuleRow, primary_key=True, **REQUIRED)
    spent = BigInt(default=0)


class EarningRuleAwardRow(Table, tablename="earning_rule_awards"):
    id = BigSerial(primary_key=True)
    rule_id = ForeignKey(EarningRuleRow, **REQUIRED)
    rule_version = Integer()
    sale_id = ForeignKey(SaleRow, **REQUIRED)
    member_id = UUID()
    refund_id = UUID(null=True, default=None)
    points = BigInt()
    occurred_at = Timestamptz()


class SaleLineRow(Table, tablename="sale_lines"):
    id = BigSerial(primary_key=True)
    sale_id = ForeignKey(SaleRow, **REQUIRED)
    member_id = UUID(null=True, default=None)
    line_no = Integer()
    sku = Varchar(length=64)
    category = Varchar(length=64, null=True, default=None)
    quantity = Integer()
    unit_price = BigInt()
    refunded_quantity = Integer(default=0)


class RefundRow(Table, tablename="refunds"):
    id = UUID(primary_key=True)
    sale_id = ForeignKey(SaleRow, null=True, default=None, **RESTRICT)
    member_id = UUID(null=True, default=None)
    refund_id = Varchar(length=64)
    amount = BigInt()
    points_reversed = BigInt(default=0)
    created_at = Timestamptz()
    imported_from = Varchar(length=32, null=True, default=None)


class RefundLineRow(Table, tablename="refund_lines"):
    id = BigSerial(primary_key=True)
    refund = ForeignKey(RefundRow, **REQUIRED)
    member_id = UUID(null=True, default=None)
    line_no = Integer()
    quantity = Integer()


class IdempotencyKeyRow(Table, tablename="idempotency_keys"):
    id = BigSerial(primary_key=True)
    caller = Varchar(length=128)
    key = Varchar(length=255)
    request_hash = Varchar(length=64)
    status_code = Integer(null=True, default=None)
    media_type = Varchar(length=64, null=True, default=None)
    response_body = Bytea(null=True, default=None)
    created_at = Timestamptz()


class AuditLogRow(Table, tablename="audit_log"):
    id = BigSerial(primary_key=True)
    at = Timestamptz()
    actor = Varchar(length=200)
    action = Varchar(length=64)
    subject = Varchar(length=200)
    details = JSONB(default={})


class CouponTemplateRow(Table, tablename="coupon_templates"):
    id = UUID(primary_key=True)
    version = Integer(default=1)
    name = Varchar(length=100)
    kind = Varchar(length=8)
    value = BigInt()
    min_spend = BigInt(default=0)
    channels = Array(base_column=Varchar(length=8))
    stackable = Boolean(default=False)
    categories = Array(base_column=Varchar(length=64))
    valid_days = Integer(null=True, default=None)
    valid_from = Timestamptz(null=True, default=None)
    valid_until = Timestamptz(null=True, default=None)
    per_member_limit = Integer(null=True, default=None)
    total_limit = Integer(null=True, default=None)
    issued = BigInt(default=0)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    retired_at = Timestamptz(null=True, default=None)


class CouponTemplateVersionRow(Table, tablename="coupon_template_versions"):
    id = BigSerial(primary_key=True)
    template_id = ForeignKey(CouponTemplateRow, **REQUIRED)
    version = Integer()
    definition = JSONB()
    created_at = Timestamptz()


class CouponRow(Table, tablename="coupons"):
    id = UUID(primary_key=True)
    code = Varchar(length=16, unique=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    template_id = ForeignKey(CouponTemplateRow, **REQUIRED)
    template_version = Integer()
    title = Varchar(length=100)
    kind = Varchar(length=8)
    value = BigInt()
    min_spend = BigInt(default=0)
    channels = Array(base_column=Varchar(length=8))
    stackable = Boolean(default=False)
    categories = Array(base_column=Varchar(length=64))
    valid_from = Timestamptz()
    expires_at = Timestamptz()
    issued_at = Timestamptz()
    source = Varchar(length=16)
    source_ref = Varchar(length=120, null=True, default=None)
    status = Varchar(length=16, default="available")
    redeemed_at = Timestamptz(null=True, default=None)
    redeemed_sale_id = ForeignKey(SaleRow, null=True, default=None, **RESTRICT)
    updated_at = Timestamptz()


class CampaignSkipRow(Table, tablename="coupon_campaign_skips"):
    id = BigSerial(primary_key=True)
    campaign_key = Varchar(length=100)
    template_id = ForeignKey(CouponTemplateRow, **REQUIRED)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    reason = Varchar(length=32)
    skipped_at = Timestamptz()


class RewardSettingsRow(Table, tablename="reward_settings"):
    kind = Varchar(length=16, primary_key=True)
    enabled = Boolean(default=False)
    template_id = ForeignKey(CouponTemplateRow, null=True, default=None, **RESTRICT)
    min_rating = Integer(null=True, default=None)
    days_ahead = Integer(null=True, default=None)
    version = Integer(default=1)
    updated_at = Timestamptz()


class DrawCampaignRow(Table, tablename="draw_campaigns"):
    id = UUID(primary_key=True)
    name = Varchar(length=100)
    threshold = BigInt()
    chances = Varchar(length=16)
    chance_valid_days = Integer()
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    created_at = Timestamptz()


class DrawPrizeRow(Table, tablename="draw_prizes"):
    id = BigSerial(primary_key=True)
    campaign_id = ForeignKey(DrawCampaignRow, **REQUIRED)
    position = Integer()
    code = Varchar(length=32)
    name = Varchar(length=100)
    weight = Integer()
    template_id = ForeignKey(CouponTemplateRow, null=True, default=None, **RESTRICT)
    stock = Integer(null=True, default=None)


class DrawChanceRow(Table, tablename="draw_chances"):
    id = UUID(primary_key=True)
    campaign_id = ForeignKey(DrawCampaignRow, **REQUIRED)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    sale_id = ForeignKey(SaleRow, **REQUIRED)
    granted_at = Timestamptz()
    expires_at = Timestamptz()
    status = Varchar(length=16, default="unplayed")
    played_at = Timestamptz(null=True, default=None)
    prize_code = Varchar(length=32, null=True, default=None)
    coupon_id = ForeignKey(CouponRow, null=True, default=None, **RESTRICT)


class WebhookEventRow(Table, tablename="webhook_events"):
    id = BigSerial(primary_key=True)
    source = Varchar(length=16)
    event_id = Varchar(length=255)
    event_type = Varchar(length=64)
    outcome = Varchar(length=16)
    received_at = Timestamptz()


class ShopCustomerRow(Table, tablename="shop_customers"):
    customer_id = Varchar(length=64, primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    linked_at = Timestamptz()


class ShopReviewRow(Table, tablename="shop_reviews"):
    review_id = Varchar(length=64, primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    sale_id = ForeignKey(SaleRow, **REQUIRED)
    rating = Integer()
    posted_at = Timestamptz()


class StripePaymentRow(Table, tablename="stripe_payments"):
    payment_intent_id = Varchar(length=255, primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    sale_id = ForeignKey(SaleRow, null=True, default=None, **RESTRICT)
    order_id = Varchar(length=64, null=True, default=None)
    currency = Varchar(length=3)
    amount_received = BigInt()
    amount_refunded = BigInt(default=0)
    disputed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class FeedbackRow(Table, tablename="feedback"):
    id = UUID(primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    kind = Varchar(length=16)
    text = Varchar(length=2000)
    order_ref = Varchar(length=64, null=True, default=None)
    status = Varchar(length=16, default="new")
    admin_note = Varchar(length=1000, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    updated_by = Varchar(length=200, null=True, default=None)


class LoginChallengeRow(Table, tablename="login_challenges"):
    phone = Varchar(length=16, primary_key=True)
    code_hash = Varchar(length=64)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    attempts = Integer(default=0)
    consumed_at = Timestamptz(null=True, default=None)


class RefreshTokenRow(Table, tablename="refresh_tokens"):
    id = UUID(primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    family_id = UUID(index=True)
    parent_id = UUID(null=True, default=None)
    token_hash = Varchar(length=128, unique=True)
    issued_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class RateLimitCounterRow(Table, tablename="rate_limit_counters"):
    key = Varchar(length=300, primary_key=True)
    hits = Integer(default=0)
    expires_at = Timestamptz()


class OutboxRow(Table, tablename="outbox"):
    id = BigSerial(primary_key=True)
    kind = Varchar(length=32)
    member_id = ForeignKey(MemberRow, null=True, default=None, **RESTRICT)
    phone = Varchar(length=16, null=True, default=None)
    payload = JSONB(default={})
    created_at = Timestamptz()
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    delivered_at = Timestamptz(null=True, default=None)
    dead_at = Timestamptz(null=True, default=None)
    last_error = Varchar(length=500, null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    dedupe_key = Varchar(length=200, null=True, default=None, unique=True)


class MessageTemplateRow(Table, tablename="message_templates"):
    key = Varchar(length=64, primary_key=True)
    kind = Varchar(length=32)
    language = Varchar(length=8)
    subject = Varchar(length=200)
    body = Text()
    updated_at = Timestamptz()
    actor = Varchar(length=200)


class MemberExternalIdRow(Table, tablename="member_external_ids"):
    id = BigSerial(primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    source = Varchar(length=32)
    external_id = Varchar(length=128)
    created_at = Timestamptz()


class FollowUpRow(Table, tablename="follow_ups"):
    id = BigSerial(primary_key=True)
    member_id = ForeignKey(MemberRow, **REQUIRED)
    sale_id = ForeignKey(SaleRow, unique=True, **REQUIRED)
    due_on = Date()
    status = Varchar(length=16, default="pending")
    satisfaction = Integer(null=True, default=None)
    outcome = Varchar(length=1000, null=True, default=None)
    called_at = Timestamptz(null=True, default=None)
    called_by = Varchar(length=200, null=True, default=None)
    created_at = Timestamptz()


class MemberRfmRow(Table, tablename="member_rfm_scores"):
    member_id = ForeignKey(MemberRow, primary_key=True, **REQUIRED)
    as_of = Date()
    window_days = Integer()
    recency_days = Integer()
    frequency = Integer()
    monetary = BigInt()
    r = Integer()
    f = Integer()
    m = Integer()
    segment = Varchar(length=32)
    computed_at = Timestamptz()


class WebhookEndpointRow(Table, tablename="webhook_endpoints"):
    id = UUID(primary_key=True)
    url = Varchar(length=2000)
    description = Varchar(length=500, default="")
    event_types = Array(base_column=Varchar(length=64))
    personal_data = Boolean(default=False)
    enabled = Boolean(default=True)
    created_at = Timestamptz()
    consecutive_failures = Integer(default=0)
    disabled_at = Timestamptz(null=True, default=None)
    disabled_reason = Varchar(length=500, null=True, default=None)
    sealed_secret = Varchar(length=200)
    sealed_previous_secret = Varchar(length=200, null=True, default=None)
    previous_secret_until = Timestamptz(null=True, default=None)


class IntegrationEventRow(Table, tablename="integration_events"):
    id = UUID(primary_key=True)
    event_type = Varchar(length=64)
    occurred_at = Timestamptz()
    data = JSONB(default={})
    personal = JSONB(null=True, default=None)
    member_id = UUID(null=True, default=None)
    fanned_out_at = Timestamptz(null=True, default=None)


class WebhookDeliveryRow(Table, tablename="webhook_deliveries"):
    id = BigSerial(primary_key=True)
    endpoint_id = ForeignKey(WebhookEndpointRow, **REQUIRED)
    event_id = ForeignKey(IntegrationEventRow, **REQUIRED)
    queued_at = Timestamptz()
    next_attempt_at = Timestamptz()
    attempts = Integer(default=0)
    round_attempts = Integer(default=0)
    delivered_at = Timestamptz(null=True, default=None)
    dead_at = Timestamptz(null=True, default=None)
    last_status = Integer(null=True, default=None)
    last_error = Varchar(length=500, null=True, default=None)


class WebhookAttemptRow(Table, tablename="webhook_attempts"):
    id = BigSerial(primary_key=True)
    delivery_id = ForeignKey(WebhookDeliveryRow, **REQUIRED)
    endpoint_id = ForeignKey(WebhookEndpointRow, **REQUIRED)
    attempt = Integer()
    at = Timestamptz()
    status = Integer(null=True, default=None)
    latency_ms = Integer(default=0)
    error = Varchar(length=500, null=True, default=None)


class CatalogueRewardRow(Table, tablename="catalogue_rewards"):
    id = UUID(primary_key=True)
    version = Integer(default=1)
    name = Varchar(length=100)
    description = Varchar(length=1000, default="")
    kind = Varchar(length=8)
    points_cost = BigInt()
    cash_price = BigInt(default=0)
    coupon_template_id = ForeignKey(CouponTemplateRow, null=True, default=None, **RESTRICT)
    stock = BigInt(null=True, default=None)
    redeemed = BigInt(default=0)
    per_member_limit = Integer(null=True, default=None)
    available_from = Timestamptz(null=True, default=None)
    available_until = Timestamptz(null=True, default=None)
    tiers = Array(base_column=Varchar(length=32))
    created_at = Timestamptz()
    updated_at = Timestamptz()
    retired_at = Timestamptz(null=True, default=None)


class RewardRedemptionRow(Table, tablename="reward_redemptions"):
    id = UUID(primary_key=True)
    reward_id = ForeignKey(CatalogueRewardRow, **REQUIRED)
    reward_version = Integer()
    member_id = ForeignKey(MemberRow, **REQUIRED)
    kind = Varchar(length=8)
    name = Varchar(length=100)
    points = BigInt()
    cash_price = BigInt(default=0)
    coupon_id = ForeignKey(CouponRow, null=True, default=None, **RESTRICT)
    fulfilment_code = Varchar(length=16, null=True, default=None, unique=True)
    status = Varchar(length=16, default="issued")
    redeemed_at = Timestamptz()
    cancelled_at = Timestamptz(null=True, default=None)
    cancelled_by = Varchar(length=200, null=True, default=None)
    cancel_reason = Varchar(length=500, null=True, default=None)
    fulfilled_at = Timestamptz(null=True, default=None)


class GuestSaleClaimRow(Table, tablename="guest_sale_claims"):
    sale_id = ForeignKey(SaleRow, primary_key=True, **REQUIRED)
    code = Varchar(length=16, null=True, default=None, unique=True)
    member_id = ForeignKey(MemberRow, null=True, default=None, **RESTRICT)
    claimed_at = Timestamptz(null=True, default=None)
    claimed_via = Varchar(length=8, null=True, default=None)
    terminal_id = ForeignKey(TerminalRow, null=True, default=None, **RESTRICT)


class StaffRow(Table, tablename="staff"):
    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True)
    display_name = Varchar(length=200)
    role = Varchar(length=16)
    status = Varchar(length=16)
    password_hash = Varchar(length=255, null=True, default=None)
    totp_secret_sealed = Varchar(length=255, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class StaffSetPasswordTokenRow(Table, tablename="staff_set_password_tokens"):
    token_hash = Varchar(length=64, primary_key=True)
    staff_id = ForeignKey(StaffRow, **REQUIRED)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class StaffSessionRow(Table, tablename="staff_sessions"):
    id_hash = Varchar(length=64, primary_key=True)
    staff_id = ForeignKey(StaffRow, index=True, **REQUIRED)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz()
    second_factor_pending = Boolean(default=False)
    revoked_at = Timestamptz(null=True, default=None)


TABLES: tuple[type[Table], ...] = (
    ProgramSettingsRow,
    TierRow,
    StoreRow,
    TerminalRow,
    MemberRow,
    MemberConsentChangeRow,
    TierPolicyRow,
    TierChangeRow,
    MemberCardRow,
    PointsAccountRow,
    PointsEntryRow,
    PointsLotRow,
    PointsLotMovementRow,
    SaleRow,
    SaleLineRow,
    RefundRow,
    RefundLineRow,
    IdempotencyKeyRow,
    AuditLogRow,
    CouponTemplateRow,
    CouponTemplateVersionRow,
    CouponRow,
    CampaignSkipRow,
    RewardSettingsRow,
    DrawCampaignRow,
    DrawPrizeRow,
    DrawChanceRow,
    WebhookEventRow,
    ShopCustomerRow,
    ShopReviewRow,
    StripePaymentRow,
    FeedbackRow,
    LoginChallengeRow,
    RefreshTokenRow,
    RateLimitCounterRow,
    OutboxRow,
    MessageTemplateRow,
    MemberExternalIdRow,
    FollowUpRow,
    MemberRfmRow,
    WebhookEndpointRow,
    IntegrationEventRow,
    WebhookDeliveryRow,
    WebhookAttemptRow,
    CatalogueRewardRow,
    RewardRedemptionRow,
    GuestSaleClaimRow,
    StaffRow,
    StaffSetPasswordTokenRow,
    StaffSessionRow,
    EarningRuleRow,
    EarningRuleVersionRow,
    EarningRuleBudgetRow,
    EarningRuleAwardRow,
)


async def forwards():
    return sql_baseline(ID, DESCRIPTION, SQL.read_text(encoding="utf-8"), TABLES)
