from __future__ import annotations

import base64
import binascii
from typing import Annotated, TypeVar

from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from msgspec import UNSET, UnsetType

from adapters.http.auth import CHECKS_ERASURE_ITSELF
from adapters.http.schemas.common import TierOut
from adapters.http.schemas.me import (
    ConsentOut,
    ExpiringOut,
    LedgerEntryOut,
    LedgerPageOut,
    MeOut,
    MeUpdateIn,
    MyPointsOut,
)
from adapters.http.schemas.problem import problems
from adapters.http.schemas.tiers import MyTierOut
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.me import MyAccount, my_account, my_ledger
from app.use_cases.profile import KEEP, Keep, UpdateMyProfile, update_my_profile
from app.use_cases.tiers import my_tier
from domain.errors import InvalidInput
from domain.members import ConsentChannel

T = TypeVar("T")

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
        return _me_out(account)

    @patch(
        operation_id="updateMe",
        summary="Change the member's name, e-mail, birthday, language or marketing consent",
        description=(
            "JSON merge patch semantics (RFC 7396), sent as `application/json`: a field left "
            "out is kept, a field sent as null is cleared. `marketing_consent` names the "
            "channels to change (`sms`, `email`, `push`); each real change is kept in the "
            "consent history with its time and source (`member_app`). The birthday can be "
            "set once: the same date again is accepted, another date or null is 409 "
            "`birthday_locked` (staff correct it with `PUT /v1/admin/members/{id}/birthday`). "
            "The e-mail is validated and normalised (422 `invalid_email`). Answers the "
            "updated `GET /v1/me`."
        ),
        responses=problems(401, 403, 404, 409, 422),
    )
    async def update(
        self,
        data: JSONBody[MeUpdateIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> MeOut:
        assert principal.member_id is not None
        consent = data.marketing_consent
        wanted = {}
        if consent is not UNSET:
            for channel in ConsentChannel:
                value = getattr(consent, channel.value)
                if value is not UNSET:
                    wanted[channel] = value
        command = UpdateMyProfile(
            member_id=principal.member_id,
            name=_kept(data.name),
            email=_kept(data.email),
            birthday=_kept(data.birthday),
            preferred_language=_kept(data.preferred_language),
            consents=wanted,
        )
        await transactions.write(
            container.uow,
            lambda uow: update_my_profile(
                command, uow, clock=container.clock, contacts=container.contacts
            ),
        )
        account = await my_account(
            principal.member_id, container.member_reads, clock=container.clock
        )
        return _me_out(account)

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
            lambda uow: my_ledger(
                member_id,
                uow,
                before_id=before_id,
                limit=limit,
                sources=container.ledger_sources,
            ),
        )
        return LedgerPageOut(
            items=[LedgerEntryOut.of(e, page.sources) for e in page.entries],
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


def _kept(value: T | UnsetType | None) -> T | Keep | None:
    return KEEP if value is UNSET else value


def _me_out(account: MyAccount) -> MeOut:
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
        email=account.email,
        birthday=account.birthday,
        preferred_language=account.preferred_language,
        marketing_consent=ConsentOut.of(account.consents),
    )
