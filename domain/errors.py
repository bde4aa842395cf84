"""One hierarchy of domain errors, each with a stable machine-readable ``code``.

The categories (not found, conflict, rule violation, ...) tell an adapter how to answer;
the ``code`` is the contract with clients and never changes once published.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "The request breaks a rule of the programme"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)

    def extras(self) -> dict[str, object]:
        """Members the answer carries beside the code and detail (a problem's extensions)."""
        return {}


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflicts with the current state"


class RuleViolation(DomainError):
    """Well-formed input that the programme's rules do not allow."""

    code = "rule_violation"
    title = "Not allowed by the programme's rules"


class InvalidInput(RuleViolation):
    """A value that is syntactically fine but not a valid value of its kind."""

    code = "validation_error"
    title = "Invalid input"

    def __init__(
        self,
        detail: str | None = None,
        *,
        field: str | None = None,
        fields: tuple[str, ...] = (),
    ) -> None:
        """``field`` names the input at fault; ``fields``, when the fault is between several
        (give exactly one of them), names each."""
        self.field = field
        self.fields = (field,) if field is not None else fields
        super().__init__(detail)


class Forbidden(DomainError):
    code = "forbidden"
    title = "Not allowed for this caller"


class AdjustmentOverLimit(Forbidden):
    """A staff member adjusts more points in one go than their role may (the service role's
    LOYALTY_SERVICE_ADJUSTMENT_LIMIT); an owner has no limit."""

    code = "adjustment_over_limit"
    title = "This adjustment is larger than your role may make"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"at most {limit} points either way in one adjustment")

    def extras(self) -> dict[str, object]:
        return {"limit": self.limit}


# Members and cards -------------------------------------------------------------------------


class MemberNotFound(NotFound):
    code = "member_not_found"
    title = "No such member"


class MemberErased(RuleViolation):
    """A till, an admin or a webhook names a member whose personal data was erased: nothing
    more is earned, spent, issued or changed for them. (Lookups answer member_not_found
    instead: finding someone must not tell whether they existed.)"""

    code = "member_erased"
    title = "This member's personal data was erased; nothing more can be done for them"


class MemberExists(Conflict):
    code = "member_exists"
    title = "A member with this phone number already exists"


class InvalidPhoneNumber(InvalidInput):
    code = "invalid_phone_number"
    title = "Not a valid phone number"


class InvalidEmail(InvalidInput):
    code = "invalid_email"
    title = "Not a valid e-mail address"


class InvalidCardNumber(InvalidInput):
    code = "invalid_card_number"
    title = "Not a valid card number (check digit mismatch)"


class CardBlocked(NotFound):
    code = "card_blocked"
    title = "This card has been blocked; the member has a replacement card"


# Stores and terminals ----------------------------------------------------------------------


class StoreNotFound(NotFound):
    code = "store_not_found"
    title = "No such store"


class StoreExists(Conflict):
    code = "store_exists"
    title = "A store with this code already exists"


class TerminalNotFound(NotFound):
    code = "terminal_not_found"
    title = "No such terminal"


class TerminalExists(Conflict):
    code = "terminal_exists"
    title = "This store already has a terminal with this code"


class TerminalInactive(Conflict):
    code = "terminal_inactive"
    title = "The terminal was deactivated; its secret can no longer be rotated"


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    title = "Unknown terminal or wrong secret"


# Programme ---------------------------------------------------------------------------------


class CurrencyLocked(Conflict):
    code = "currency_locked"
    title = "The currency cannot change once sales have been recorded in it"


class TierPolicyChanged(Conflict):
    code = "tier_policy_changed"
    title = "Another change to the tier policy was saved first; reload and try again"


class ProgramChanged(Conflict):
    """The programme's settings are no longer at the version the change was based on."""

    code = "program_changed"
    title = "Another change to the programme's settings was saved first; reload and try again"


# Sales and refunds -------------------------------------------------------------------------


class DuplicateReceipt(Conflict):
    code = "duplicate_receipt"
    title = "This receipt has already been recorded under another idempotency key"

    def __init__(self, detail: str | None = None, *, sale_id: UUID | None = None) -> None:
        self.sale_id = sale_id
        super().__init__(detail)

    def extras(self) -> dict[str, object]:
        return {"sale_id": str(self.sale_id)} if self.sale_id is not None else {}


class SaleNotFound(NotFound):
    code = "sale_not_found"
    title = "No such sale"


class OtherStoreReturnsDisabled(Forbidden):
    code = "other_store_returns_disabled"
    title = "This programme takes returns only at the store of the sale"


class DuplicateRefund(Conflict):
    code = "duplicate_refund"
    title = "This refund id has already been used for this sale under another idempotency key"


class RefundExceedsSale(RuleViolation):
    code = "refund_exceeds_sale"
    title = "The refund is larger than what is left to refund on this sale"


class SkuNotOnSale(RuleViolation):
    code = "sku_not_on_sale"
    title = "The refund names an SKU that is not on this sale"


class CouponNotRedeemable(RuleViolation):
    code = "coupon_not_redeemable"
    title = "The coupon cannot be redeemed"


class PointsExceedPayable(RuleViolation):
    code = "points_exceed_payable"
    title = "The points are worth more than is left to pay"


class RedemptionNeedsMember(RuleViolation):
    code = "redemption_needs_member"
    title = "Only a member can pay with points"


class InsufficientPoints(RuleViolation):
    code = "insufficient_points"
    title = "Not enough available points"


class AmountTooLarge(InvalidInput):
    code = "amount_too_large"
    title = "An amount is larger than the programme accepts"


# Requests -----------------------------------------------------------------------------------


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was already used with a different request"


# Coupons and draws --------------------------------------------------------------------------


class CouponTemplateNotFound(NotFound):
    code = "coupon_template_not_found"
    title = "No such coupon template"


class CouponTemplateClosed(Conflict):
    code = "coupon_template_closed"
    title = "The template's validity window has ended; no more coupons can be issued from it"


class CouponTemplateRetired(CouponTemplateClosed):
    """A subclass of the closed template: every path that stops issuing from a closed
    template (reviews, birthdays, draws) stops for a retired one too."""

    code = "coupon_template_retired"
    title = "The template was retired; no more coupons can be issued from it"


class CouponNotVoidable(Conflict):
    code = "coupon_not_voidable"
    title = "Only an available coupon can be voided"


class DrawCampaignStarted(Conflict):
    code = "draw_campaign_started"
    title = "The campaign has started; it can no longer be edited"


class DrawCampaignNotRunning(Conflict):
    code = "draw_campaign_not_running"
    title = "Only a running campaign can be ended early"


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    title = "No such coupon"


class DrawCampaignNotFound(NotFound):
    code = "draw_campaign_not_found"
    title = "No such draw campaign"


class ChanceNotFound(NotFound):
    code = "chance_not_found"
    title = "No such draw chance"


class ChanceNotPlayable(Conflict):
    code = "chance_not_playable"
    title = "This chance has expired or was revoked"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "No such order for this member"


# Member login --------------------------------------------------------------------------------


class InvalidLoginCode(InvalidCredentials):
    """Wrong, expired, used or exhausted: one answer, so that nobody learns which."""

    code = "invalid_login_code"
    title = "The login code is not valid"


class InvalidRefreshToken(InvalidCredentials):
    code = "invalid_refresh_token"
    title = "The refresh token is not valid"


class SessionRevoked(InvalidCredentials):
    """A member token (or session) of a member who was erased since it was issued. The same
    code as any token the service refuses: the app logs out, and learns nothing more."""

    code = "unauthenticated"
    title = "The token is invalid or has expired"


class RateLimited(DomainError):
    code = "rate_limited"
    title = "Too many requests; try again later"

    def __init__(self, retry_after_seconds: int, detail: str | None = None) -> None:
        self.retry_after_seconds = max(1, retry_after_seconds)
        super().__init__(detail)


# Member profile ------------------------------------------------------------------------------


class BirthdayLocked(Conflict):
    """The member set their birthday once; it drives birthday rewards, so only an admin may
    change it after that (audited)."""

    code = "birthday_locked"
    title = "The birthday is already set; only the programme's staff can change it"


class MessageTemplateInvalid(InvalidInput):
    """A message template that does not compile, reaches outside its placeholders, or fails
    to render with the kind's sample data."""

    code = "message_template_invalid"
    title = "The message template cannot be used"


class MessageTemplateNotFound(NotFound):
    code = "message_template_not_found"
    title = "No message template of this kind and language"


class EarningRuleNotFound(NotFound):
    code = "earning_rule_not_found"
    title = "No such earning rule"


class EarningRuleEnded(Conflict):
    code = "earning_rule_ended"
    title = "The earning rule has ended; an ended rule is never changed again"


class EarningRuleChanged(Conflict):
    code = "earning_rule_changed"
    title = "Another change to the earning rule was saved first; reload and try again"


# The reward catalogue ------------------------------------------------------------------------


class CatalogueRewardNotFound(NotFound):
    code = "catalogue_reward_not_found"
    title = "No such reward in the catalogue"


class RewardNotRedeemable(Conflict):
    """The member cannot redeem this reward now; ``reason`` says why (out_of_stock,
    member_limit_reached, tier_not_eligible, not_yet_available, no_longer_available, retired)."""

    code = "reward_not_redeemable"
    title = "This reward cannot be redeemed now"

    def __init__(self, reason: str, detail: str | None = None) -> None:
        self.reason = reason
        super().__init__(detail)

    def extras(self) -> dict[str, object]:
        return {"reason": self.reason}


class RewardRedemptionNotFound(NotFound):
    code = "reward_redemption_not_found"
    title = "No such reward redemption"


class RewardRedemptionUsed(Conflict):
    code = "reward_redemption_used"
    title = "The redemption was used (its coupon redeemed or its item handed over)"


class RewardRedemptionCancelled(Conflict):
    code = "reward_redemption_cancelled"
    title = "The redemption was cancelled"


class CashPriceMismatch(RuleViolation):
    """A points-plus-cash reward is collected for exactly its cash price."""

    code = "cash_price_mismatch"
    title = "The cash taken is not the reward's cash price"

    def __init__(self, detail: str | None = None, *, cash_price: int) -> None:
        self.cash_price = cash_price
        super().__init__(detail)

    def extras(self) -> dict[str, object]:
        return {"cash_price": self.cash_price}


# Claims of guest sales -----------------------------------------------------------------------


class SaleClaimNotFound(NotFound):
    """No guest sale answers this claim code (or receipt): one answer for every miss."""

    code = "sale_claim_not_found"
    title = "No guest sale to claim with this code or receipt"


class SaleAlreadyClaimed(Conflict):
    code = "sale_already_claimed"
    title = "This sale was already claimed"


class SaleNotClaimable(Conflict):
    code = "sale_not_claimable"
    title = "This sale cannot be claimed (it named a member, or was refunded)"


class ImportedSaleNotClaimable(Conflict):
    """Imported history (replayed from another system for analytics) earns no points, so
    it cannot be claimed either."""

    code = "imported_sale_not_claimable"
    title = "An imported sale cannot be claimed"


class ClaimWindowClosed(RuleViolation):
    code = "claim_window_closed"
    title = "The sale is older than the programme lets a member claim"
