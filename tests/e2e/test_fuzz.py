"""Fuzzing from the contract (issue #8, item 1): schemathesis generates requests for every
operation of the served process's own OpenAPI document, with a valid token of the role the
operation needs, and fails on any 5xx, any answer the document does not describe (status,
content type, headers, body schema) and any error that is not application/problem+json.

`make test` runs a bounded pass (FUZZ_EXAMPLES per operation, 6 by default); `make fuzz` a
long one. Requests are positive (schema-valid) and negative (schema-violating) data.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import cli

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
PROBLEM_JSON = "application/problem+json"


pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def tokens(service: tuple[str, dict[str, str]]) -> dict[str, str]:
    """One valid token per role, for a store, a terminal and a member that exist."""
    base, env = service
    admin = cli("token", "admin", "--subject", "fuzz", env=env)
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=base, timeout=30) as http:
        store = http.post(
            "/v1/admin/stores",
            json={"code": f"fuzz-{uuid.uuid4().hex[:8]}", "name": "Fuzz"},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        ).json()
        terminal = http.post(
            "/v1/admin/terminals",
            json={"store_id": store["store_id"], "code": "till"},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        ).json()
        pos = http.post(
            "/v1/auth/terminal-token",
            json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
        ).json()["access_token"]
        member = http.post(
            "/v1/pos/members",
            json={"phone": f"+86139{uuid.uuid4().int % 10**8:08d}"},
            headers={"Authorization": f"Bearer {pos}", "Idempotency-Key": uuid.uuid4().hex},
        ).json()
    return {
        "admin": admin,
        "pos": pos,
        "member": cli("token", "member", member["member_id"], env=env),
    }


# The committed document is what the served process publishes (test_served_document_is_the_
# committed_one below and tests/api/test_openapi.py pin it), and it can be read at collection
# time, so each operation becomes its own test.
DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
schema = schemathesis.openapi.from_path(str(DOCUMENT))


def test_the_served_document_is_the_committed_one(service: tuple[str, dict[str, str]]) -> None:
    base, _ = service
    served = httpx.get(f"{base}/schema/openapi.json", timeout=30).json()

    assert served == json.loads(DOCUMENT.read_text())


def role_for(path: str) -> str | None:
    for prefix, role in (("/v1/admin", "admin"), ("/v1/pos", "pos"), ("/v1/me", "member")):
        if path.startswith(prefix):
            return role
    return None


def errors_are_problems(_: Any, response: Any, case: Case) -> None:
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])
        value = content_type[0] if isinstance(content_type, list) else content_type
        assert value.startswith(PROBLEM_JSON), (
            f"{case.method} {case.path} answered {response.status_code} as {value!r}"
        )


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_contract_says(
    case: Case, service: tuple[str, dict[str, str]], tokens: dict[str, str]
) -> None:
    base, _ = service
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    role = role_for(case.path)
    if role is not None:
        headers["Authorization"] = f"Bearer {tokens[role]}"
    response = case.call(base_url=base, headers={**(case.headers or {}), **headers})
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
    errors_are_problems(None, response, case)
