"""The committed OpenAPI document is the one the code generates, and it covers the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.wiring.cli import OPENAPI_PATH, openapi_json

CONTRACT_OPERATIONS = [
    ("post", "/v1/auth/terminal-token"),
    ("post", "/v1/admin/stores"),
    ("post", "/v1/admin/terminals"),
    ("get", "/v1/admin/program"),
    ("put", "/v1/admin/program"),
    ("post", "/v1/pos/members"),
    ("get", "/v1/pos/members/lookup"),
    ("post", "/v1/pos/quote"),
    ("post", "/v1/pos/sales"),
    ("post", "/v1/pos/sales/{sale_id}/refunds"),
    ("get", "/v1/me"),
    ("get", "/v1/me/ledger"),
]


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(openapi_json())


def test_the_committed_openapi_document_is_current() -> None:
    committed = Path(OPENAPI_PATH)
    assert committed.exists(), "run `make openapi`"
    assert committed.read_text() == openapi_json(), "openapi/ is stale: run `make openapi`"


@pytest.mark.parametrize(("method", "path"), CONTRACT_OPERATIONS)
def test_the_document_describes_every_contract_operation(
    document: dict, method: str, path: str
) -> None:
    operation = document["paths"][path][method]
    assert operation["operationId"]


# The POSTs that only read: a key is taken but not needed.
READ_ONLY_POSTS = {
    "/v1/pos/quote",
    "/v1/admin/tiers/simulate",
    "/v1/admin/message-templates/{kind}/{language}/preview",
    "/v1/admin/earning-rules/simulate",
}


def test_every_write_under_pos_and_admin_requires_an_idempotency_key(document: dict) -> None:
    for path, operations in document["paths"].items():
        if not path.startswith(("/v1/pos/", "/v1/admin/")) or "post" not in operations:
            continue
        headers = {
            p["name"]: p["required"]
            for p in operations["post"].get("parameters", [])
            if p["in"] == "header"
        }
        assert headers.get("Idempotency-Key") is (path not in READ_ONLY_POSTS), path


def test_operation_ids_are_unique(document: dict) -> None:
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
