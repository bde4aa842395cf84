"""The service agent's member pages (issue #18): search, the 360 view, and its actions
(adjust points within the role's limit, replace a card).

Each page calls the application's use cases, as /v1/admin does (member_search, member_360,
points, members, profile); no SQL here. Every route is guarded by console_guard (session,
the permission table, CSRF on every POST) and named in app/permissions.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from adapters.http.console.controller import Form, _formats, _page, _program
from adapters.http.console.i18n import N_
from adapters.http.console.paging import Pager
from adapters.http.controllers.me import MAX_BIGINT
from adapters.http.idempotency import VALID_KEY
from adapters.http.problems import status_for
from adapters.http.schemas.member_privacy import MemberExportOut
from app import transactions
from app.container import Container
from app.idempotency import request_fingerprint, run_idempotently
from app.idempotency_store import StoredResponse
from app.permissions import adjustment_limit, allows
from app.unit_of_work import UnitOfWork
from app.use_cases.draws import played_chances, unplayed_chances
from app.use_cases.follow_ups import member_follow_ups
from app.use_cases.member_360 import member_ledger, member_overview
from app.use_cases.member_privacy import EraseMember, erase_member, export_member
from app.use_cases.member_search import MemberQuery, find_members
from app.use_cases.members import ReplaceCard, replace_card
from app.use_cases.points import AdjustPoints, adjust_points
from app.use_cases.profile import consent_history
from app.use_cases.staff import actor_of
from app.use_cases.tiers import SetTier, get_tier_policy, set_member_tier
from domain.errors import (
    AdjustmentOverLimit,
    DomainError,
    IdempotencyKeyReused,
    InsufficientPoints,
    InvalidInput,
    MemberErased,
    MemberNotFound,
)
from domain.member_search import FoundMember, SearchBy
from domain.points import MAX_ADJUSTMENT, MAX_REASON_LENGTH
from domain.program import end_of_day
from domain.staff import StaffMember as Staff

PAGE = 20
LEDGER_PAGE = 20
CONSENT_PAGE = 20
CHANCES_SHOWN = 20  # unplayed draw chances, and as many played ones
FOLLOW_UPS_SHOWN = 10

# The search box's criteria (labels are msgids); "" lets the console pick from the text.
CRITERIA = (
    ("", N_("Any (guess from the text)")),
    (SearchBy.PHONE.value, N_("Phone")),
    (SearchBy.CARD_NUMBER.value, N_("Card number")),
    (SearchBy.EMAIL.value, N_("E-mail")),
    (SearchBy.NAME.value, N_("Part of the name")),
    (SearchBy.EXTERNAL_ID.value, N_("External id")),
)
_NUMBERISH = set("0123456789+-() ")

# Values the member page translates by name.
TRANSLATED_BY_VALUE = (
    N_("earn"),
    N_("redeem"),
    N_("expire"),
    N_("reverse"),
    N_("restore"),
    N_("adjust"),
    N_("active"),
    N_("blocked"),
    N_("available"),
    N_("redeemed"),
    N_("expired"),
    N_("voided"),
    N_("sms"),
    N_("email"),
    N_("push"),
    N_("member_app"),
    N_("admin"),
    N_("granted"),
    N_("withdrawn"),
)

FORM_KEY = "once"  # each form's idempotency key: a double click runs the action once

DONE = {
    "adjusted": N_("Points adjusted."),
    "card_replaced": N_("A new card was issued; the old number is blocked."),
    "erased": N_("The member's personal data was erased."),
    "tier_set": N_("The member's tier was set."),
}
ERASE_WORD = "ERASE"  # what an owner types to confirm an erasure, in either language


def _query(by: SearchBy, text: str) -> MemberQuery:
    return MemberQuery(**{by.value: text})


def _guesses(text: str) -> list[SearchBy]:
    """What a bare search text most likely is, most likely first."""
    if "@" in text:
        return [SearchBy.EMAIL]
    if set(text) <= _NUMBERISH:
        return [SearchBy.CARD_NUMBER, SearchBy.PHONE]
    return [SearchBy.NAME, SearchBy.EXTERNAL_ID]


async def _search(
    container: Container, text: str, by: str, after: UUID | None
) -> tuple[SearchBy | None, list[FoundMember], bool]:
    """(the criterion used, the members found, whether the text was refused)."""
    criteria = [SearchBy(by)] if by else _guesses(text)
    refused = False
    for criterion in criteria:
        try:
            found = await find_members(
                _query(criterion, text),
                container.member_directory,
                contacts=container.contacts,
                after=after,
                limit=PAGE + 1,
            )
        except InvalidInput:
            refused = True
            continue
        if found or len(criteria) == 1:
            return criterion, list(found), False
        refused = False
    return (criteria[-1] if not refused else None), [], refused


class MembersPagesController(Controller):
    path = "/console"
    include_in_schema = False

    @get("/members", operation_id="console.members.search")
    async def members(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
        q: FromQuery[str] = "",
        by: FromQuery[str] = "",
        after: FromQuery[UUID | None] = None,
    ) -> Template:
        text = q.strip()[:254]
        by = by if by in {value for value, _ in CRITERIA} else ""
        used: SearchBy | None = None
        found: list[FoundMember] = []
        refused = False
        if text:
            used, found, refused = await _search(container, text, by, after)
        more = len(found) > PAGE
        found = found[:PAGE]
        shown = {**request.query_params, "q": text, "by": used.value if used else by}
        pager = Pager.of("/console/members", shown).followed_by(
            found[-1].member_id if more and used is not None else None
        )
        program = await _program(container)
        # htmx's live search swaps the results only; a boosted paging link, the whole page.
        partial = request.headers.get("hx-request") and not request.headers.get("hx-boosted")
        name = "members_results.html" if partial else "members.html"
        return _page(
            request,
            name,
            _formats(request, program),
            query=text,
            by=by,
            used=used,
            used_label=dict(CRITERIA)[used.value] if used else "",
            criteria=CRITERIA,
            found=found,
            refused=refused,
            searched=bool(text),
            pager=pager,
        )

    @get("/members/{member_id:uuid}", operation_id="console.members.view")
    async def member(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        container: NamedDependency[Container],
        before: Annotated[int | None, QueryParameter(ge=1, le=MAX_BIGINT)] = None,
        done: FromQuery[str] = "",
    ) -> Template:
        return await _member_page(request, container, member_id, before=before, done=done)

    @post("/members/{member_id:uuid}/adjust", operation_id="console.members.adjust")
    async def adjust(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Response[Any]:
        """Credits or debits points with a reason; a service agent within
        LOYALTY_SERVICE_ADJUSTMENT_LIMIT, enforced by the use case."""
        staff: Staff = request.state.staff
        reason = str(data.get("reason", ""))[: MAX_REASON_LENGTH + 1]
        try:
            points = int(str(data.get("points", "")).strip()[:12])
        except ValueError:
            points = 0
        if points == 0 or abs(points) > MAX_ADJUSTMENT:
            return await _member_page(
                request, container, member_id, 422, refused="points", reason=reason
            )
        command = AdjustPoints(
            member_id=member_id,
            points=points,
            reason=reason,
            actor=actor_of(staff),
            limit=adjustment_limit(staff.role, container.settings.service_adjustment_limit),
        )
        done = await _once(
            request,
            container,
            data,
            f"{points}\n{reason}",
            lambda uow: adjust_points(command, uow, clock=container.clock, ids=container.ids),
        )
        refused = {
            AdjustmentOverLimit.code: "limit",
            InsufficientPoints.code: "insufficient",
            MemberErased.code: "erased",
            MemberNotFound.code: "missing",
            IdempotencyKeyReused.code: "resent",
        }.get(done.body.decode(), "reason")
        if done.status_code == 303:
            return Redirect(f"/console/members/{member_id}?done=adjusted", status_code=303)
        if refused == "missing":
            raise NotFoundException()
        return await _member_page(
            request,
            container,
            member_id,
            done.status_code,
            refused=refused,
            limit=command.limit,
            points=points,
            reason=reason,
        )

    @post("/members/{member_id:uuid}/card", operation_id="console.members.replace_card")
    async def replace_card(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Response[Any]:
        staff: Staff = request.state.staff
        command = ReplaceCard(member_id=member_id, actor=actor_of(staff))
        done = await _once(
            request,
            container,
            data,
            "",
            lambda uow: replace_card(command, uow, clock=container.clock, random=container.random),
        )
        if done.body == MemberNotFound.code.encode():
            raise NotFoundException()
        if done.status_code != 303:
            return await _member_page(
                request, container, member_id, done.status_code, refused="erased"
            )
        return Redirect(f"/console/members/{member_id}?done=card_replaced", status_code=303)

    @post("/members/{member_id:uuid}/erase", operation_id="console.members.erase")
    async def erase(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Response[Any]:
        """An owner erases a member's personal data, after typing ERASE (the ledger's amounts
        and hash chain stay; app/use_cases/member_privacy.py)."""
        staff: Staff = request.state.staff
        if str(data.get("confirm", "")).strip() != ERASE_WORD:
            return await _member_page(request, container, member_id, 422, refused="confirm")
        command = EraseMember(member_id=member_id, actor=actor_of(staff))
        done = await _once(
            request,
            container,
            data,
            ERASE_WORD,
            lambda uow: erase_member(command, uow, clock=container.clock),
        )
        if done.body == MemberNotFound.code.encode():
            raise NotFoundException()
        if done.status_code != 303:
            return await _member_page(
                request, container, member_id, done.status_code, refused="erased"
            )
        return Redirect(f"/console/members/{member_id}?done=erased", status_code=303)

    @post("/members/{member_id:uuid}/tier", operation_id="console.members.set_tier")
    async def set_tier(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Response[Any]:
        """An owner gives a member a tier by hand, with a reason; until the end of the chosen
        day (in the programme's time zone) reviews do not take it away, and with no day it
        holds until changed by hand again."""
        staff: Staff = request.state.staff
        tier_code = str(data.get("tier_code", ""))[:32]
        reason = str(data.get("tier_reason", "")).strip()[: MAX_REASON_LENGTH + 1]
        program = await _program(container)
        through = str(data.get("until", "")).strip()[:10]
        until: datetime | None = None
        if through:
            try:
                last_day = date.fromisoformat(through)
                until = end_of_day(last_day, ZoneInfo(program.time_zone))
            except (ValueError, OverflowError):  # not a date, or the last one there is
                return await _member_page(
                    request, container, member_id, 422, refused="until", tier_reason=reason
                )
        if not reason or len(reason) > MAX_REASON_LENGTH:
            return await _member_page(
                request, container, member_id, 422, refused="tier_reason", tier_reason=reason
            )
        command = SetTier(
            member_id=member_id,
            tier_code=tier_code,
            reason=reason,
            actor=actor_of(staff),
            until=until,
        )
        done = await _once(
            request,
            container,
            data,
            f"{tier_code}\n{through}\n{reason}",
            lambda uow: set_member_tier(command, uow, clock=container.clock),
        )
        if done.body == MemberNotFound.code.encode():
            raise NotFoundException()
        if done.status_code != 303:
            refused = {
                MemberErased.code: "erased",
                IdempotencyKeyReused.code: "resent",
            }.get(done.body.decode(), "tier")
            return await _member_page(
                request, container, member_id, done.status_code, refused=refused,
                tier_reason=reason,
            )  # fmt: skip
        return Redirect(f"/console/members/{member_id}?done=tier_set", status_code=303)

    @get("/members/{member_id:uuid}/export.json", operation_id="console.members.export")
    async def export(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Response[bytes]:
        """Everything held about the member (a right-of-access request), as the API's
        exportMemberData answers it, as a file to hand over. Audited by the use case."""
        try:
            export = await transactions.write(
                container.uow,
                lambda uow: export_member(
                    member_id, uow, clock=container.clock, actor=actor_of(request.state.staff)
                ),
            )
        except MemberNotFound:
            raise NotFoundException() from None
        body = msgspec.json.encode(MemberExportOut.of(export))
        return Response(
            body,
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="member-{member_id}.json"',
                "Cache-Control": "no-store",
            },
        )


def _refusal(error: DomainError) -> StoredResponse:
    return StoredResponse(status_for(error), error.code.encode(), "text/plain")


async def _once(
    request: Request[Any, Any, Any],
    container: Container,
    data: dict[str, str],
    fields: str,
    action: Callable[[UnitOfWork], Awaitable[object]],
) -> StoredResponse:
    """Runs a console action once per form (its hidden idempotency key, through the same
    runner as the API's Idempotency-Key): a double click or a resent form gets the first
    answer. The answer kept is 303 (done) or the refusal's status and code."""
    staff: Staff = request.state.staff
    key = str(data.get(FORM_KEY, ""))[:64]
    if not VALID_KEY.match(key):
        key = secrets.token_urlsafe(18)  # a form without one (a script): runs once anyway

    async def operation(uow: UnitOfWork) -> StoredResponse:
        await action(uow)
        return StoredResponse(303, b"", "text/plain")

    try:
        return await run_idempotently(
            container.uow,
            container.clock,
            caller=f"console:{staff.id}",
            key=key,
            request_hash=request_fingerprint("POST", request.url.path, fields.encode()),
            operation=operation,
            render_error=_refusal,
        )
    except IdempotencyKeyReused as reused:  # the same form sent again with other values
        return _refusal(reused)


async def _member_page(
    request: Request[Any, Any, Any],
    container: Container,
    member_id: UUID,
    status_code: int = 200,
    *,
    before: int | None = None,
    done: str = "",
    **context: Any,
) -> Template:
    async def load(uow: UnitOfWork) -> tuple[Any, ...]:
        view = await member_overview(member_id, uow, container.clock, container.ledger_sources)
        ledger = await member_ledger(
            member_id,
            uow,
            before_id=before,
            limit=LEDGER_PAGE,
            sources=container.ledger_sources,
        )
        consent = await consent_history(member_id, uow, before_id=None, limit=CONSENT_PAGE)
        chances = await unplayed_chances(
            member_id, uow, clock=container.clock, after=None, limit=CHANCES_SHOWN
        )
        played = await played_chances(member_id, uow, after=None, limit=CHANCES_SHOWN)
        follow_ups = await member_follow_ups(member_id, uow, limit=FOLLOW_UPS_SHOWN)
        ladder = (await get_tier_policy(uow)).ladder.tiers
        return view, ledger, consent, chances, played, follow_ups, ladder

    try:
        view, ledger, consent, chances, played, follow_ups, ladder = await container.read(load)
    except MemberNotFound:
        raise NotFoundException() from None
    program = await _program(container)
    staff: Staff = request.state.staff
    return _page(
        request,
        "member.html",
        _formats(request, program),
        status_code,
        view=view,
        ledger=ledger,
        before=before,
        # Older entries by the ledger's cursor; newer ones back along the trail (paging.py).
        ledger_pager=Pager.of(
            f"/console/members/{member_id}",
            {k: v for k, v in request.query_params.items() if k in ("before", "trail")},
            param="before",
        ).followed_by(ledger.next_before_id),
        consent=consent,
        done=DONE.get(done),
        can_adjust=allows(staff.role, "console.members.adjust"),
        can_erase=allows(staff.role, "console.members.erase"),
        can_set_tier=allows(staff.role, "console.members.set_tier"),
        can_export=allows(staff.role, "console.members.export"),
        chances=chances,
        played=played,
        follow_ups=follow_ups,
        ladder=ladder,
        lots=[lot for lot in view.lots if lot.remaining > 0],
        erase_word=ERASE_WORD,
        limit_of_role=adjustment_limit(staff.role, container.settings.service_adjustment_limit),
        max_reason=MAX_REASON_LENGTH,
        once=secrets.token_urlsafe(18),
        **context,
    )
