from __future__ import annotations

import base64
import binascii
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from adapters.http.auth import CHECKS_ERASURE_ITSELF
from adapters.http.schemas.common import TierOut
from adapters.http.schemas.me import (
    ExpiringOut,
    LedgerEntryOut,
    LedgerPageOut,
    MeOut,
    MyPointsOut,
)
from adapters.http.schemas.problem import problems
from adapters.http.schemas.tiers import MyTierOut
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.me import my_account, my_ledger
from app.use_cases.tiers import my_tier
from domain.errors import InvalidInput

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=64)]


def encode_cursor(before_id: int | None) -> str | None:
    if before_id is None:
        return None
    return base64.urlsafe_b64encode(f"e{before_id}".encode()).decode().rstrip("=")


MAX_BIGINT = 2**63 - 1


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[:1] != "e":
            raise ValueError(raw)
        before = int(raw[1:])
        if not 0 < before <= MAX_BIGINT:
            # A number PostgreSQL's bigint cannot hold would be a 500 in the query.
            raise ValueError(raw)
        return before
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("the cursor is not one this API gave out", field="cursor") from None


class MeController(Controller):
    path = "/"
    tags = ["member"]

    @get(
        operation_id="getMe",
        summary="The member's card, tier and points",
        responses=problems(401, 403, 404),
        opt={CHECKS_ERASURE_ITSELF: True},
    )
    async def me(
        self, container: NamedDependency[Container], principal: NamedDependency[Principal]
    ) -> MeOut:
        assert principal.member_id is not None
        account = await my_account(
            principal.member_id, container.member_reads, clock=container.clock
        )
        return MeOut(
            member_id=account.member_id,
            name=account.name,
            card_number=account.card_number,
            tier=TierOut.of(account.tier),
            points=MyPointsOut(
                available=account.points.available,
                pending=account.points.pending,
                expiring=[
                    ExpiringOut(points=e.points, expires_at=e.expires_at) for e in account.expiring
                ],
            ),
        )

    @get(
        "/ledger",
        operation_id="getMyLedger",
        summary="The member's points entries, newest first",
        responses=problems(401, 403, 404, 422),
        opt={CHECKS_ERASURE_ITSELF: True},
    )
    async def ledger(
        self,
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> LedgerPageOut:
        assert principal.member_id is not None
        member_id = principal.member_id
        before_id = decode_cursor(cursor)
        page = await transactions.read(
            container.uow,
            lambda uow: my_ledger(member_id, uow, before_id=before_id, limit=limit),
        )
        return LedgerPageOut(
            items=[LedgerEntryOut.of(e) for e in page.entries],
            next_cursor=encode_cursor(page.next_before_id),
        )

    @get(
        "/tier",
        operation_id="getMyTier",
        summary="The member's tier, the next one and how much spend it still needs",
        responses=problems(401, 403, 404),
        opt={CHECKS_ERASURE_ITSELF: True},
    )
    async def tier(
        self, container: NamedDependency[Container], principal: NamedDependency[Principal]
    ) -> MyTierOut:
        assert principal.member_id is not None
        member_id = principal.member_id
        mine = await transactions.read(
            container.uow, lambda uow: my_tier(member_id, uow, clock=container.clock)
        )
        return MyTierOut.of(mine)
