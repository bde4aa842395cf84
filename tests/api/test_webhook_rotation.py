"""Secret rotation over HTTP: while two secrets are configured, a delivery signed with either
is accepted; one signed with a retired secret is not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.settings import Settings
from app.wiring.asgi import create_app
from tests.support.webhooks import (
    payment_intent,
    shop_event,
    shop_headers,
    stripe_event,
    stripe_headers,
)

SHOP_SECRETS = ("shop-new-secret", "shop-old-secret")
STRIPE_SECRETS = ("whsec_new_endpoint_secret", "whsec_old_endpoint_secret")


@pytest.fixture
async def rotating(db_url: str, clean_db: str) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = Settings(
        db_pool_min=1,
        db_pool_max=2,
        shop_webhook_secrets=SHOP_SECRETS,
        stripe_webhook_secrets=STRIPE_SECRETS,
    )
    async with AsyncTestClient(
        app=create_app(settings, database_url=db_url), raise_server_exceptions=False
    ) as client:
        yield client


@pytest.mark.parametrize("secret", SHOP_SECRETS)
async def test_a_shop_event_signed_with_either_rotating_secret_is_accepted(
    rotating: AsyncTestClient[Any], secret: str
) -> None:
    body = shop_event("cart.abandoned", {"cart_id": "K1"})

    response = await rotating.post(
        "/v1/webhooks/shop", content=body, headers=shop_headers(body, secret=secret)
    )

    assert response.status_code == 200, response.text


async def test_a_shop_event_signed_with_a_retired_secret_is_refused(
    rotating: AsyncTestClient[Any],
) -> None:
    body = shop_event("cart.abandoned", {"cart_id": "K1"})

    retired = await rotating.post(
        "/v1/webhooks/shop",
        content=body,
        headers=shop_headers(body),  # the dev default
    )

    assert (retired.status_code, retired.json()["code"]) == (401, "signature_invalid")


@pytest.mark.parametrize("secret", STRIPE_SECRETS)
async def test_a_stripe_event_signed_with_either_endpoint_secret_is_accepted(
    rotating: AsyncTestClient[Any], secret: str
) -> None:
    body = stripe_event("payment_intent.succeeded", payment_intent("pi_rot", 100))

    response = await rotating.post(
        "/v1/webhooks/stripe", content=body, headers=stripe_headers(body, secret=secret)
    )
    retired = await rotating.post("/v1/webhooks/stripe", content=body, headers=stripe_headers(body))

    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert retired.status_code == 401
