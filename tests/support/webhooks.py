"""Sending webhooks the way the web shop and Stripe do: a JSON body and a signature over it."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

from app.settings import DEV_SHOP_SECRET, DEV_STRIPE_SECRET

_ids = itertools.count(1)


def hmac_header(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """`t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`: the scheme both senders use."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def shop_event(event_type: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_shop_{next(_ids)}",
            "type": event_type,
            "created_at": "2026-11-23T10:00:00+00:00",
            "data": data,
        }
    ).encode()


def shop_headers(
    body: bytes, *, secret: str = DEV_SHOP_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    return {
        "Shop-Signature": hmac_header(body, secret, timestamp),
        "content-type": "application/json",
    }


def stripe_headers(
    body: bytes, *, secret: str = DEV_STRIPE_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    return {
        "Stripe-Signature": hmac_header(body, secret, timestamp),
        "content-type": "application/json; charset=utf-8",
    }


# Stripe's own object shapes (API version 2024-06-20), as its API reference shows them. -------


def stripe_event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_1Q{next(_ids):022d}",
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "data": {"object": obj, "previous_attributes": None},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": f"req_{next(_ids):014d}", "idempotency_key": None},
            "type": event_type,
        }
    ).encode()


def payment_intent(
    pi_id: str,
    amount: int,
    *,
    currency: str = "cny",
    metadata: dict[str, str] | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": amount,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{pi_id}_secret_abc123",
        "confirmation_method": "automatic",
        "created": created if created is not None else int(time.time()) - 5,
        "currency": currency,
        "customer": "cus_QfR3Xz3bQ1nJmV",
        "description": None,
        "invoice": None,
        "last_payment_error": None,
        "latest_charge": "ch_" + pi_id[3:],
        "livemode": False,
        "metadata": metadata or {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": "pm_1Q0PsIJvEtkwdCNYMSaVuRz6",
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def charge(
    pi_id: str, amount: int, amount_refunded: int, *, currency: str = "cny"
) -> dict[str, Any]:
    charge_id = "ch_" + pi_id[3:]
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": "txn_3MmlLrLkdIwHu7ix0uke3Ezy",
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
        },
        "calculated_statement_descriptor": "LOYALTY SHOP",
        "captured": True,
        "created": int(time.time()) - 60,
        "currency": currency,
        "customer": "cus_QfR3Xz3bQ1nJmV",
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": pi_id,
        "payment_method": "pm_1Q0PsIJvEtkwdCNYMSaVuRz6",
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "country": "US",
                "exp_month": 3,
                "exp_year": 2027,
                "fingerprint": "mToisGZ01V71BCos",
                "funding": "credit",
                "last4": "4242",
                "network": "visa",
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        },
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8x",
        "refunded": amount_refunded == amount,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def dispute(
    pi_id: str, amount: int, *, status: str = "needs_response", currency: str = "cny"
) -> dict[str, Any]:
    return {
        "id": "dp_" + pi_id[3:],
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": "ch_" + pi_id[3:],
        "created": int(time.time()) - 30,
        "currency": currency,
        "evidence": {
            "access_activity_log": None,
            "billing_address": None,
            "customer_email_address": None,
            "customer_name": None,
            "product_description": None,
            "uncategorized_text": None,
        },
        "evidence_details": {
            "due_by": int(time.time()) + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": True,
        "livemode": False,
        "metadata": {},
        "payment_intent": pi_id,
        "payment_method_details": {"card": {"brand": "visa", "network_reason_code": "10.4"}},
        "reason": "fraudulent",
        "status": status,
    }
