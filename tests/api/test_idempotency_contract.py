"""Which operations need an Idempotency-Key, said in three places that must agree with what
the service does (issue #17, item 9): the handlers (the header parameter that makes a request
without a key refused), the OpenAPI document (a required header parameter and a sentence in
the description, both generated from that parameter) and the table in docs/http-contract.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from uuid import uuid4

from litestar import Litestar

from adapters.http.idempotency import HEADER, REQUIRES_KEY, idempotent_handlers
from tests.api.client import Api

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "http-contract.md"
OPENAPI = ROOT / "openapi" / "openapi.json"
TABLE = re.compile(
    r"<!-- idempotent-operations.*?-->\n(.*?)<!-- /idempotent-operations -->", re.DOTALL
)
ROW = re.compile(r"^\| `(\w+) (\S+)` \| `(\w+)` \|$", re.MULTILINE)


def _plain(path: str) -> str:
    """/v1/x/{id:uuid} -> /v1/x/{id}, as OpenAPI writes it."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def in_code(app: Litestar) -> set[tuple[str, str, str]]:
    return {
        (method, _plain(path), handler.operation_id or "")
        for method, path, handler in idempotent_handlers(app)
    }


def in_openapi() -> tuple[set[tuple[str, str, str]], list[str]]:
    document = json.loads(OPENAPI.read_text())
    found, undescribed = set(), []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            # A read-only POST (quote, simulation) takes an optional key: not required.
            key = [
                p
                for p in operation.get("parameters", [])
                if p["in"] == "header" and p["name"] == HEADER and p.get("required") is True
            ]
            described = REQUIRES_KEY in operation.get("description", "")
            if key:
                found.add((method.upper(), path, operation["operationId"]))
            if bool(key) != described:
                undescribed.append(f"{method.upper()} {path}")
    return found, undescribed


def in_contract() -> set[tuple[str, str, str]]:
    table = TABLE.search(CONTRACT.read_text())
    assert table, "docs/http-contract.md lost its idempotent-operations table"
    return {(m, p, op) for m, p, op in ROW.findall(table.group(1))}


def test_the_openapi_document_and_the_contract_name_exactly_the_operations_that_need_a_key(
    app: Litestar,
) -> None:
    code = in_code(app)
    documented, undescribed = in_openapi()

    assert ("POST", "/v1/me/draws/{chance_id}/play", "playDrawChance") in code
    assert documented == code
    assert undescribed == []  # the sentence is on exactly the operations with the header
    assert in_contract() == code


async def test_every_operation_said_to_need_a_key_refuses_a_request_without_one(
    api: Api, app: Litestar
) -> None:
    till = await api.open_till()
    member = await till.enrol()
    headers_for = {
        "/v1/admin/": api.admin_headers,
        "/v1/pos/": {"Authorization": f"Bearer {till.token}"},
        "/v1/me/": api.member_headers(member["member_id"]),
    }
    answers: dict[str, Any] = {}

    typed = {(m, _plain(p)): p for m, p, _ in idempotent_handlers(app)}  # {id:uuid}, {n:int}
    for method, path, _ in sorted(in_contract()):
        headers = next(h for prefix, h in headers_for.items() if path.startswith(prefix))
        concrete = re.sub(
            r"\{\w+:(\w+)\}",
            lambda p: "1" if p.group(1) == "int" else str(uuid4()),
            typed.get((method, path), path),
        )
        response = await api.client.request(method, concrete, json={}, headers=headers)
        answers[f"{method} {path}"] = (response.status_code, response.json().get("code"))

    assert answers
    assert all(a == (400, "idempotency_key_invalid") for a in answers.values()), answers
