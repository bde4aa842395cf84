"""How an answer is judged, the same for every class of hostile input and for the stateful
run: never a 5xx, every error a problem (application/problem+json) with a `code`, only the
statuses the contract lists, a refusal where one is due; and after any write the service still
sells at the till and still reads its configuration and reports (issue #16 item 0: one admin
write stopped every till)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from tests.e2e.fuzz.contract import Operation
from tests.e2e.fuzz.findings import Finding, Findings, Sent
from tests.e2e.fuzz.wire import Answer, Request, send
from tests.e2e.fuzz.world import World, key, now, unique
from tests.support.database import reset

PROBLEM_JSON = "application/problem+json"
# Requests that change nothing a later request reads: no canaries after them.
READ_ONLY = frozenset(
    {
        "POST /v1/pos/quote",
        "POST /v1/admin/tiers/simulate",
        "POST /v1/auth/otp",
        "POST /v1/auth/otp/verify",
        "POST /v1/auth/refresh",
        "POST /v1/auth/terminal-token",
    }
)


def shape_problems(answer: Answer) -> list[str]:
    """An error that is not a problem (application/problem+json) with a `code`."""
    # The ASGI server refuses some requests itself (an unparsable request line) before the
    # application sees them: those answers carry no X-Request-ID and are not ours to shape.
    if answer.status is None or answer.status < 400 or "x-request-id" not in answer.headers:
        return []
    body = answer.json()
    if not answer.content_type.startswith(PROBLEM_JSON):
        return [f"error answered as {answer.content_type or 'no content type'}"]
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return ["problem without a code"]
    return []


def problems_in(operation: Operation, answer: Answer) -> list[str]:
    """What is wrong with an answer whatever was asked: one phrase per defect."""
    if answer.status is None:
        return ["no answer"]
    wrong = []
    if answer.status >= 500:
        wrong.append("server error")
    wrong += shape_problems(answer)
    if not operation.allows(answer.status) and answer.status < 500:
        wrong.append("status not in the contract")
    return wrong


def judge(
    findings: Findings,
    kind: str,
    operation: Operation,
    sent: Sent,
    answer: Answer,
    refuse: str | None = None,
    change: str = "",
) -> None:
    """Adds a finding for each thing wrong with ``answer``; ``refuse`` says why a 2xx would
    be wrong, ``change`` what the fuzzer changed (for the evidence)."""
    shown = answer.show()
    for phrase in problems_in(operation, answer):
        findings.add(Finding(kind, operation.name, answer.status, phrase, sent, shown, change))
    if refuse and answer.status is not None and 200 <= answer.status < 300:
        findings.add(
            Finding(kind, operation.name, answer.status, f"accepted {refuse}", sent, shown, change)
        )


def changes_state(operation: Operation, answer: Answer) -> bool:
    """A write that was accepted, or that failed in a way that may have left something."""
    if operation.method == "GET" or operation.name in READ_ONLY:
        return False
    if answer.status is None:
        return True
    return 200 <= answer.status < 300 or answer.status >= 500


@dataclass(frozen=True)
class Canary:
    name: str
    request: Request


def canaries(world: World) -> list[Canary]:
    """What every till and back office needs to keep working, whatever an admin wrote."""
    assert world.member is not None
    today = now().date()
    sale = {
        "receipt_id": unique("canary"),
        "member_id": world.member.member_id,
        "lines": [{"sku": "CANARY", "quantity": 1, "unit_price": 1_000}],
    }
    return [
        Canary(
            "a POS sale",
            Request(
                "POST /v1/pos/sales", headers={**world.pos, "Idempotency-Key": key()}, body=sale
            ),
        ),
        Canary("GET /v1/admin/program", Request("GET /v1/admin/program", headers=world.admin)),
        Canary("GET /v1/admin/tiers", Request("GET /v1/admin/tiers", headers=world.admin)),
        Canary("GET /v1/me/tier", Request("GET /v1/me/tier", headers=world.member.auth)),
        Canary(
            "the lifecycle report",
            Request("GET /v1/admin/reports/lifecycle", headers=world.admin),
        ),
        Canary(
            "the segment preview",
            Request(
                "GET /v1/admin/segments/preview",
                headers=world.admin,
                query={"lifecycle": "active"},
            ),
        ),
        Canary("the RFM report", Request("GET /v1/admin/reports/rfm", headers=world.admin)),
        Canary(
            "the points liability report",
            Request(
                "GET /v1/admin/reports/points-liability",
                headers=world.admin,
                query={
                    "from": (today - timedelta(days=31)).isoformat(),
                    "to": (today + timedelta(days=1)).isoformat(),
                },
            ),
        ),
    ]


def poisoned(world: World) -> list[tuple[str, Answer]]:
    """The canaries that no longer answer 2xx, with their answers."""
    failed = []
    for canary in canaries(world):
        _, answer = send(world.http, canary.request)
        if answer.status is None or not 200 <= answer.status < 300:
            failed.append((canary.name, answer))
    return failed


def check_canaries(
    findings: Findings,
    world: World,
    db_url: str,
    operation: Operation,
    sent: Sent,
    answer: Answer,
    change: str = "",
) -> bool:
    """After a write: are the tills and the back office still working? If not, the write is
    the finding (kind config_poisoning, with the write's own status), and the database is
    reset so that the rest of the run is judged on its own. True when poisoned."""
    failed = poisoned(world)
    if failed:
        broken = ", ".join(f"{name} {status}" for name, status in _statuses(failed))
        findings.add(
            Finding(
                "config_poisoning",
                operation.name,
                answer.status,
                f"after it: {broken}",
                sent,
                f"then {failed[0][0]}: {failed[0][1].show()}",
                change,
            )
        )
        heal(world, db_url)
    return bool(failed)


def _statuses(failed: list[tuple[str, Answer]]) -> list[tuple[str, int | None]]:
    return [(name, answer.status) for name, answer in failed]


def heal(world: World, db_url: str) -> None:
    """A fresh database (the served process keeps running) and a fresh world in it."""
    asyncio.run(reset(db_url))
    world.arrange()
    still = poisoned(world)
    assert not still, f"the service did not recover after a database reset: {still[0][1].show()}"
