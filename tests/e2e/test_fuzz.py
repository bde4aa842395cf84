"""Fuzzing the served process (issues #8 and #16).

Two generators, one judge (tests/e2e/fuzz/judge.py):

- schemathesis draws requests for every operation of the contract, positive and negative,
  with times at the ends of the calendar mixed into every date and date-time;
- the hostile-input engine (tests/e2e/fuzz/) starts from a valid request for each operation,
  acting on real objects (a sale with refunds left, an unplayed chance, an unanswered
  follow-up), and changes one thing of one class: NUL and unstorable characters, extreme and
  malformed times, strings for numbers and numbers for strings, loose booleans, huge numbers
  and strings, deep nesting, duplicate keys, the wrong Content-Type, hostile headers, signed
  but malformed webhook bodies, and signatures dated away from now.

Every answer must be free of 5xx, every error a problem with a `code`, every status one the
contract lists, and a refusal where the contract is broken; after every write the tills and
the back office must still work (canaries). Each run draws a new seed, printed at the start and
in every failure: FUZZ_SEED replays it. `make test` runs FUZZ_EXAMPLES (4) examples per case,
`make fuzz` 100.
"""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from hypothesis import given, seed
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from tests.e2e.fuzz.catalogue import CATALOGUE, starts
from tests.e2e.fuzz.contract import DOCUMENT, operation, operations
from tests.e2e.fuzz.engine import CLASSES, draw
from tests.e2e.fuzz.findings import Finding, Findings, Sent
from tests.e2e.fuzz.fixtures import service, world
from tests.e2e.fuzz.judge import (
    changes_state,
    check_canaries,
    judge,
    problems_in,
    shape_problems,
)
from tests.e2e.fuzz.seed import EXAMPLES, SEED, seed_of, settings_for
from tests.e2e.fuzz.wire import Answer, send
from tests.e2e.fuzz.world import World, key, unique

pytestmark = pytest.mark.fuzz
__all__ = ["service", "world"]  # fixtures


def test_the_served_document_is_the_committed_one(service: tuple[str, dict[str, str]]) -> None:
    base, _ = service
    served = httpx.get(f"{base}/schema/openapi.json", timeout=30).json()

    assert served == json.loads(DOCUMENT.read_text())


def test_the_catalogue_has_a_valid_request_for_every_operation(world: World) -> None:
    """The engine's starting points work: a mutation is measured against a request that is
    accepted, so what it changes is what is refused."""
    refused = {
        # Nothing valid can be guessed: a code sent by SMS, a refresh token from a login.
        "POST /v1/auth/otp/verify": 401,
        "POST /v1/auth/refresh": 401,
        "POST /v1/auth/logout": 401,
    }
    names = {op.name for op in operations()}
    assert names == set(CATALOGUE), {
        "missing": sorted(names - set(CATALOGUE)),
        "unknown": sorted(set(CATALOGUE) - names),
    }
    wrong = []
    for name in sorted(names):
        op = operation(name)
        for make in starts(name):
            sent, answer = send(world.http, make(world))
            expected = refused.get(name)
            ok = answer.status == expected if expected else 200 <= (answer.status or 0) < 300
            if not ok:
                wrong.append(f"{name}: {answer.show()[:300]} for {sent.show()}")
            assert not problems_in(op, answer) or expected, answer.show()
    assert wrong == [], "\n".join(wrong)


# -- the hostile-input engine ---------------------------------------------------------------

CASES = [
    pytest.param(name, op.name, id=f"{name}-{op.name}")
    for name, hostile in CLASSES.items()
    for op in operations()
    if hostile.applies(op)
]


@pytest.mark.parametrize(("hostile", "name"), CASES)
def test_hostile_input_is_refused_cleanly_and_leaves_the_service_working(
    hostile: str, name: str, world: World, db_url: str
) -> None:
    op = operation(name)
    findings = Findings()

    @settings_for(EXAMPLES)
    @seed(seed_of(hostile, name))
    @given(st.data())
    def explore(data: st.DataObject) -> None:
        mutation = draw(data, hostile, op, world)
        sent, answer = send(world.http, mutation.request)
        change = f"{mutation.where} = {mutation.value}"
        judge(findings, hostile, op, sent, answer, mutation.refuse, change)
        if changes_state(op, answer):
            check_canaries(findings, world, db_url, op, sent, answer, change)

    explore()
    assert not findings, findings.report(f"{hostile} on {name}")


def test_a_refund_naming_neither_an_amount_nor_lines_says_so(world: World) -> None:
    """Issue #16 item 8: such a refund was told it named both."""
    op = operation("POST /v1/pos/sales/{sale_id}/refunds")
    findings = Findings()
    request = CATALOGUE[op.name](world).with_(body={"refund_id": unique("F")})

    sent, answer = send(world.http, request)

    judge(findings, "refund_neither", op, sent, answer, "a refund of nothing")
    body = answer.json() or {}
    fields = {e.get("field") for e in body.get("errors") or [] if isinstance(e, dict)}
    says_so = bool(fields & {"amount", "lines"}) or "neither" in str(body.get("detail", ""))
    if answer.status == 422 and not says_so:
        findings.add(
            Finding(
                "refund_neither",
                op.name,
                answer.status,
                "the problem names neither amount nor lines",
                sent,
                answer.show(),
            )
        )
    assert not findings, findings.report("a refund naming neither an amount nor lines")


# -- schemathesis: every operation from the contract ------------------------------------------


def _extreme_times(date_only: bool) -> st.SearchStrategy[str]:
    if date_only:
        return st.sampled_from(["0001-01-01", "9999-12-31", "1970-01-01"])
    return st.sampled_from(
        [
            "0001-01-01T00:00:00+00:00",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "9999-12-31T23:59:59.999999+00:00",
        ]
    )


schemathesis.openapi.format(
    "date-time",
    st.one_of(
        _extreme_times(False), st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    ),
)
schemathesis.openapi.format(
    "date", st.one_of(_extreme_times(True), st.dates().map(lambda d: d.isoformat()))
)
schema = schemathesis.openapi.from_path(str(DOCUMENT))


def role_headers(path: str, world: World) -> dict[str, str]:
    assert world.member is not None
    for prefix, headers in (
        ("/v1/admin", world.admin),
        ("/v1/pos", world.pos),
        ("/v1/me", world.member.auth),
    ):
        if path.startswith(prefix):
            return headers
    return {}


@schema.parametrize()
@settings_for(EXAMPLES)
@seed(SEED)
def test_every_operation_answers_as_its_contract_says(
    case: Case, world: World, db_url: str
) -> None:
    # The operation the case was drawn for (a negative case may use another method: TRACE).
    op = operation(f"{case.operation.method.upper()} {case.operation.path}")
    auth = {"Idempotency-Key": key(), **role_headers(case.path, world)}
    response = case.call(
        base_url=str(world.http.base_url), headers={**(case.headers or {}), **auth}
    )
    sent = Sent(
        case.method.upper(),
        case.formatted_path,
        json.dumps(case.query) if case.query else "",
        {k: str(v) for k, v in (case.headers or {}).items()},
        None if case.body is None else json.dumps(case.body, default=repr).encode(),
    )
    answered = {k: v[0] if isinstance(v, list) else v for k, v in dict(response.headers).items()}
    answer = Answer(response.status_code, httpx.Headers(answered), response.content)
    findings = Findings()
    try:
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_headers_conformance,
                response_schema_conformance,
            ],
        )
    except (Failure, FailureGroup) as error:
        failures = error.exceptions if isinstance(error, FailureGroup) else (error,)
        for failure in failures:
            if failure.title == "Undocumented status code" and (answer.status or 0) >= 500:
                continue  # the server error is the finding; its status need not be listed
            findings.add(
                Finding("contract", op.name, answer.status, failure.title, sent, answer.show())
            )
    for phrase in shape_problems(answer):
        findings.add(Finding("contract", op.name, answer.status, phrase, sent, answer.show()))
    if changes_state(op, answer):
        check_canaries(findings, world, db_url, op, sent, answer)
    assert not findings, findings.report(f"contract on {op.name}")
