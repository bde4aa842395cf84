"""Real objects in a served process for the fuzzer to act on: a store and its till, members
with tokens, a sale with room for many refunds, a coupon template, a running draw campaign
with chances to play, feedback and follow-up calls to answer, a linked shop customer with a
paid order, a Stripe payment. Requests that use an object up take a fresh one from a pool.
"""

from __future__ import annotations

import itertools
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from adapters.http.tokens import TokenService
from adapters.system import SystemClock
from app.settings import Settings
from app.wiring.composition import build_tokens
from tests.e2e.conftest import BIN
from tests.support.webhooks import (
    payment_intent,
    shop_event,
    shop_headers,
    stripe_event,
    stripe_headers,
)

_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def fresh_phone() -> str:
    return f"+86139{uuid.uuid4().int % 10**8:08d}"


def key() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


def cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "loyalty"), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def expect(response: httpx.Response, status: int) -> Any:
    """Arranging the world is not under test: anything unexpected stops the test here."""
    assert response.status_code == status, (
        f"setting up the fuzz world: {response.request.method} {response.request.url.path} "
        f"answered {response.status_code}: {response.text[:500]}"
    )
    return response.json() if response.content else None


@dataclass
class Member:
    member_id: str
    card_number: str
    phone: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    http: httpx.Client
    env: dict[str, str]
    settings: Settings
    tokens: TokenService
    admin: dict[str, str]
    pos: dict[str, str] = field(default_factory=dict)
    store_id: str = ""
    terminal_id: str = ""
    terminal_secret: str = ""
    member: Member | None = None
    big_sale_id: str = ""
    big_sale_receipt: str = ""
    template_id: str = ""
    campaign_id: str = ""
    shop_customer: str = ""
    shop_order: str = ""
    payment_intent_id: str = ""
    chances: list[str] = field(default_factory=list)
    follow_ups: list[int] = field(default_factory=list)

    # -- built over HTTP, as a client would ------------------------------------------------

    @classmethod
    def build(cls, base: str, env: dict[str, str]) -> World:
        settings = Settings.from_env(env)
        http = httpx.Client(base_url=base, timeout=60)
        admin = {"Authorization": f"Bearer {cli(env, 'token', 'admin', '--subject', 'fuzz')}"}
        world = cls(http, env, settings, build_tokens(settings, SystemClock()), admin)
        world.arrange()
        return world

    def arrange(self) -> None:
        store = expect(
            self.admin_post("/v1/admin/stores", {"code": unique("fuzz"), "name": "Fuzz"}), 201
        )
        self.store_id = store["store_id"]
        terminal = expect(
            self.admin_post("/v1/admin/terminals", {"store_id": self.store_id, "code": "till"}),
            201,
        )
        self.terminal_id, self.terminal_secret = terminal["terminal_id"], terminal["secret"]
        token = expect(
            self.http.post(
                "/v1/auth/terminal-token",
                json={"terminal_id": self.terminal_id, "secret": self.terminal_secret},
            ),
            200,
        )
        self.pos = {"Authorization": f"Bearer {token['access_token']}"}
        self.member = self.enrol()
        big_sale = self.sale(self.member, 100, 100_000)
        self.big_sale_id, self.big_sale_receipt = big_sale["sale_id"], big_sale["receipt_id"]
        template = expect(
            self.admin_post(
                "/v1/admin/coupon-templates",
                {"name": "Fuzz 10 off", "kind": "fixed", "value": 1000, "valid_days": 30},
            ),
            201,
        )
        self.template_id = template["id"]
        campaign = expect(
            self.admin_post(
                "/v1/admin/draw-campaigns",
                {
                    "name": "Fuzz draw",
                    "threshold": 100,
                    "chances": "per_multiple",
                    "chance_valid_days": 30,
                    "starts_at": (now() - timedelta(days=1)).isoformat(),
                    "ends_at": (now() + timedelta(days=30)).isoformat(),
                    "prizes": [
                        {
                            "code": "ten",
                            "name": "10 off",
                            "weight": 1,
                            "template_id": self.template_id,
                        }
                    ],
                },
            ),
            201,
        )
        self.campaign_id = campaign["id"]
        self.shop_customer = unique("C")
        self.shop(
            "customer.linked",
            {"customer_id": self.shop_customer, "member_id": self.member.member_id},
        )
        self.shop_order = self.paid_order()
        self.payment_intent_id = f"pi_{uuid.uuid4().hex[:24]}"
        self.stripe(
            "payment_intent.succeeded",
            payment_intent(
                self.payment_intent_id, 500_000, metadata={"member_id": self.member.member_id}
            ),
        )
        self.chances = []
        self.follow_ups = []

    # -- small helpers -------------------------------------------------------------------

    def admin_post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, json=body, headers={**self.admin, "Idempotency-Key": key()})

    def pos_post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, json=body, headers={**self.pos, "Idempotency-Key": key()})

    def member_token(self, member_id: str) -> str:
        return self.tokens.issue_member_token(UUID(member_id)).token

    def enrol(self) -> Member:
        phone = fresh_phone()
        body = expect(self.pos_post("/v1/pos/members", {"phone": phone}), 201)
        return Member(
            body["member_id"], body["card_number"], phone, self.member_token(body["member_id"])
        )

    def sale(
        self,
        member: Member | None,
        quantity: int = 1,
        unit_price: int = 25_000,
        occurred_at: datetime | None = None,
    ) -> Any:
        body: dict[str, Any] = {
            "receipt_id": unique("R"),
            "lines": [{"sku": "FUZZ", "quantity": quantity, "unit_price": unit_price}],
        }
        if member is not None:
            body["member_id"] = member.member_id
        if occurred_at is not None:
            body["occurred_at"] = occurred_at.isoformat()
        return expect(self.pos_post("/v1/pos/sales", body), 201)

    def shop(self, event_type: str, data: dict[str, Any]) -> Any:
        body = shop_event(event_type, data, unique("evt"))
        return expect(
            self.http.post("/v1/webhooks/shop", content=body, headers=self.shop_signed(body)),
            200,
        )

    def stripe(self, event_type: str, obj: dict[str, Any]) -> Any:
        body = stripe_event(event_type, obj, unique("evt"))
        return expect(
            self.http.post("/v1/webhooks/stripe", content=body, headers=self.stripe_signed(body)),
            200,
        )

    def shop_signed(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        return shop_headers(body, secret=self.settings.shop_webhook_secrets[0], timestamp=timestamp)

    def stripe_signed(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        return stripe_headers(
            body, secret=self.settings.stripe_webhook_secrets[0], timestamp=timestamp
        )

    def paid_order(self) -> str:
        order = unique("O")
        assert self.member is not None
        self.shop(
            "order.paid",
            {
                "order_id": order,
                "member_id": self.member.member_id,
                "lines": [{"sku": "WEB", "quantity": 100, "unit_price": 10_000}],
                "paid_at": now().isoformat(),
            },
        )
        return order

    # -- pools of objects that a request uses up ------------------------------------------

    def chance(self) -> str:
        if not self.chances:
            assert self.member is not None
            self.sale(self.member, 1, 10_000)  # 100 chances at a threshold of 1.00
            listed = expect(
                self.http.get("/v1/me/draws", params={"limit": 200}, headers=self.member.auth),
                200,
            )
            self.chances = [c["chance_id"] for c in listed["items"]]
            assert self.chances, "a sale in a running campaign earned no chance"
        return self.chances.pop()

    def follow_up(self) -> int:
        if not self.follow_ups:
            # Calls fall due follow_up_days after a sale: one day, so that the sales to call
            # about need back-dating by one day only.
            program = expect(self.http.get("/v1/admin/program", headers=self.admin), 200)
            if program["crm"]["follow_up_days"] != 1:
                program.pop("version")
                program["crm"]["follow_up_days"] = 1
                expect(self.http.put("/v1/admin/program", json=program, headers=self.admin), 200)
            assert self.member is not None
            for _ in range(5):
                self.sale(self.member, occurred_at=now() - timedelta(days=1))
            cli(self.env, "jobs", "schedule-follow-ups")
            listed = expect(
                self.http.get(
                    "/v1/admin/follow-ups",
                    params={"status": "pending", "limit": 200},
                    headers=self.admin,
                ),
                200,
            )
            self.follow_ups = [f["id"] for f in listed["items"]]
            assert self.follow_ups, "no follow-up call was scheduled"
        return self.follow_ups.pop()

    def feedback(self) -> str:
        assert self.member is not None
        posted = expect(
            self.http.post(
                "/v1/me/feedback",
                json={"kind": "suggestion", "text": "More towels"},
                headers=self.member.auth,
            ),
            201,
        )
        return str(posted["feedback_id"])


Factory = Callable[[World], Any]
