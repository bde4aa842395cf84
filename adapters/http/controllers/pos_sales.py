from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.http.idempotency import IdempotencyKey, QuoteKey, respond_idempotently
from adapters.http.schemas.common import BalancesOut
from adapters.http.schemas.pos import (
    QuoteIn,
    QuoteOut,
    RecordedSaleOut,
    RefundIn,
    RefundOut,
    SaleIn,
    SaleOut,
    require_amount_or_lines,
)
from adapters.http.schemas.problem import problems
from adapters.http.schemas.reward_catalogue import ClaimedOut, PosClaimIn
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.coupon_guard import admit_coupon_codes
from app.use_cases.guest_claims import ClaimAtTill, claim_guest_sale, record_sale_with_claim_code
from app.use_cases.sales import (
    FindSale,
    LineInput,
    PriceSale,
    RecordSale,
    RefundSale,
    find_sale,
    quote_sale,
    refund_sale,
)
from domain.login import RateLimit
from domain.sales import RefundLine


async def _admit_coupon_codes(container: Container, principal: Principal, data: QuoteIn) -> None:
    """Counted before the sale's transaction: a refused guess still counts."""
    if not data.coupon_codes:
        return
    rule = RateLimit(
        container.settings.coupon_codes_per_terminal[0],
        timedelta(seconds=container.settings.coupon_codes_per_terminal[1]),
    )
    await admit_coupon_codes(
        container.login.limiter,
        rule,
        principal.terminal_id,
        len(data.coupon_codes),
        container.clock.now(),
    )


def _lines(data: JSONBody[QuoteIn]) -> list[LineInput]:
    return [LineInput(i.sku, i.quantity, i.unit_price, i.category) for i in data.lines]


class PosSalesController(Controller):
    path = "/"
    tags = ["pos"]

    @post(
        "/quote",
        operation_id="posQuoteSale",
        summary="Price a basket for a member without recording it",
        description=(
            "Reads only: no Idempotency-Key is needed. With one, the first answer is kept "
            "and a repeat of the key gets it back (the same price, even if it changed since)."
        ),
        status_code=200,
        responses=problems(400, 401, 403, 404, 409, 422, 429),
    )
    async def quote(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[QuoteIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: QuoteKey = None,
    ) -> Response[QuoteOut]:
        assert principal.store_id is not None
        await _admit_coupon_codes(container, principal, data)
        command = PriceSale(
            store_id=principal.store_id,
            lines=_lines(data),
            member_id=data.member_id,
            coupon_codes=data.coupon_codes,
            redeem_points=data.redeem_points,
            occurred_at=data.occurred_at,
        )

        async def action(uow: UnitOfWork) -> tuple[int, QuoteOut]:
            outcome = await quote_sale(
                command, uow, clock=container.clock, dating=container.sale_dating
            )
            return 200, QuoteOut.of(outcome)

        if idempotency_key is None:
            _, quoted = await transactions.read(container.uow, action)
            return Response(quoted, status_code=200)
        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @post(
        "/sales",
        operation_id="posRecordSale",
        summary="Record a sale and credit the member's points",
        description=(
            "A sale naming a member whose personal data was erased is 422 `member_erased` and "
            "records nothing: sell to the customer as a guest (without `member_id`) instead. "
            "A `receipt_id` this store already recorded (under another Idempotency-Key) is 409 "
            "`duplicate_receipt`, whose `sale_id` names the sale recorded first. A guest sale "
            "(no `member_id`) answers a `claim_code` for the receipt: with it the member can "
            "claim the sale's points in the app (`POST /v1/me/sale-claims`)."
        ),
        status_code=201,
        responses=problems(400, 401, 403, 404, 409, 422, 429),
    )
    async def record(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SaleIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[SaleOut]:
        assert principal.store_id is not None
        await _admit_coupon_codes(container, principal, data)
        command = RecordSale(
            store_id=principal.store_id,
            terminal_id=principal.terminal_id,
            receipt_id=data.receipt_id,
            lines=_lines(data),
            member_id=data.member_id,
            occurred_at=data.occurred_at,
            coupon_codes=data.coupon_codes,
            redeem_points=data.redeem_points,
        )

        async def action(uow: UnitOfWork) -> tuple[int, SaleOut]:
            recorded = await record_sale_with_claim_code(
                command,
                uow,
                clock=container.clock,
                ids=container.ids,
                dating=container.sale_dating,
                random=container.random,
            )
            return 201, SaleOut.of(recorded.outcome, claim_code=recorded.claim_code)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @get(
        "/sales",
        operation_id="posFindSale",
        summary="Find a sale by its receipt id, to take a return",
        description=(
            "The terminal's own store's sale with this `receipt_id` (receipt ids are unique per "
            "store). For a return of a sale made at another store of the retailer, add that "
            "store's `store_code`: allowed while the programme's `refunds_at_any_store` is on "
            "(the default), 403 `other_store_returns_disabled` when it is off. No such sale: "
            "404 `sale_not_found`; no such store: 404 `store_not_found`."
        ),
        responses=problems(401, 403, 404, 422),
    )
    async def find(
        self,
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        receipt_id: Annotated[str, QueryParameter(min_length=1, max_length=64)],
        store_code: Annotated[str | None, QueryParameter(min_length=1, max_length=64)] = None,
    ) -> RecordedSaleOut:
        assert principal.store_id is not None
        command = FindSale(
            store_id=principal.store_id, receipt_id=receipt_id, store_code=store_code
        )
        sale = await transactions.read(container.uow, lambda uow: find_sale(command, uow))
        return RecordedSaleOut.of(sale)

    @post(
        "/sales/{sale_id:uuid}/refunds",
        operation_id="posRefundSale",
        summary="Refund part or all of a sale; earned points are reversed pro rata",
        description=(
            "A sale made at another store of the retailer can be refunded here while the "
            "programme's `refunds_at_any_store` is on (the default; audited as "
            "`sale.refunded_at_other_store` with both stores), otherwise 403 "
            "`other_store_returns_disabled`. Lines naming an SKU the sale does not have: 422 "
            "`sku_not_on_sale`."
        ),
        status_code=201,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def refund(
        self,
        request: Request[Any, Any, Any],
        sale_id: FromPath[UUID],
        data: JSONBody[RefundIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[RefundOut]:
        assert principal.store_id is not None
        require_amount_or_lines(data.amount, data.lines)
        command = RefundSale(
            store_id=principal.store_id,
            sale_id=sale_id,
            refund_id=data.refund_id,
            lines=[RefundLine(line.sku, line.quantity) for line in data.lines or ()],
            amount=data.amount,
            actor=principal.actor,
        )

        async def action(uow: UnitOfWork) -> tuple[int, RefundOut]:
            outcome = await refund_sale(command, uow, clock=container.clock, ids=container.ids)
            return 201, RefundOut(
                refund_id=outcome.refund_id,
                sale_id=outcome.sale_id,
                amount=outcome.amount,
                points_reversed=outcome.points_reversed,
                points_restored=outcome.points_restored,
                coupons_restored=list(outcome.coupons_restored),
                draw_chances_revoked=outcome.draw_chances_revoked,
                points=BalancesOut.of(outcome.points) if outcome.points else None,
            )

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @post(
        "/sale-claims",
        operation_id="posClaimGuestSale",
        summary="Claim a guest sale of this store for a member who forgot the card",
        description="The till looks the member up (`GET /v1/pos/members/...`) and names the "
        "receipt of a guest sale of its own store. Within the programme's "
        "`guest_claim_days` (422 `claim_window_closed`), once (409 `sale_already_claimed`); "
        "the points are what the sale would have earned had the member been named. No guest "
        "sale with that receipt here: 404 `sale_claim_not_found`.",
        status_code=201,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def claim(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PosClaimIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[ClaimedOut]:
        assert principal.store_id is not None
        command = ClaimAtTill(
            member_id=data.member_id,
            store_id=principal.store_id,
            terminal_id=principal.terminal_id,
            receipt_id=data.receipt_id,
        )

        async def action(uow: UnitOfWork) -> tuple[int, ClaimedOut]:
            claimed = await claim_guest_sale(command, uow, clock=container.clock, ids=container.ids)
            return 201, ClaimedOut.of(claimed)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
