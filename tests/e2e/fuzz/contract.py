"""The published contract (openapi/openapi.json) as the fuzzer reads it: operations, the
statuses each may answer, and the JSON schema of each request body and parameter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).resolve().parents[3] / "openapi" / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")
# Refusals a server makes before any operation is chosen (a body too large, a media type it
# does not read): any operation may answer them, documented or not.
TRANSPORT_STATUSES = frozenset({413, 415})


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    statuses: frozenset[int]
    parameters: tuple[dict[str, Any], ...]
    body_schema: dict[str, Any] | None
    body_media_types: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def writes(self) -> bool:
        return self.method != "GET"

    def parameter_schema(self, name: str, where: str) -> dict[str, Any] | None:
        for parameter in self.parameters:
            if parameter["name"] == name and parameter["in"] == where:
                schema: dict[str, Any] = parameter.get("schema", {})
                return schema
        return None

    def allows(self, status: int) -> bool:
        return status in self.statuses or status in TRANSPORT_STATUSES


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return loaded


def resolve(schema: dict[str, Any] | None) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed (one level; call again on what it returns)."""
    if not schema:
        return {}
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document()["components"]["schemas"][name]
    return schema


def without_null(schema: dict[str, Any] | None) -> dict[str, Any]:
    """The non-null branch of ``oneOf: [X, null]``, resolved; the schema itself otherwise."""
    schema = resolve(schema)
    for key in ("oneOf", "anyOf"):
        branches = [resolve(b) for b in schema.get(key, []) if resolve(b).get("type") != "null"]
        if len(branches) == 1:
            merged = {k: v for k, v in schema.items() if k != key}
            return {**branches[0], **merged}
    return schema


def kind_of(schema: dict[str, Any] | None) -> str | None:
    """``"date-time"``, ``"date"``, ``"uuid"``, ``"string"``, ``"integer"``, ``"number"``,
    ``"boolean"``, ``"array"``, ``"object"`` or None when the schema does not say."""
    schema = without_null(schema)
    if schema.get("format") in ("date-time", "date", "uuid"):
        return str(schema["format"])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "enum" in schema:
        return "string"
    return str(kind) if kind else None


@cache
def operations() -> tuple[Operation, ...]:
    found = []
    for path, entries in document()["paths"].items():
        for method in METHODS:
            entry = entries.get(method)
            if entry is None:
                continue
            content = (entry.get("requestBody") or {}).get("content", {})
            json_body = content.get("application/json", {}).get("schema")
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    statuses=frozenset(int(s) for s in entry.get("responses", {}) if s.isdigit()),
                    parameters=tuple(entry.get("parameters", [])),
                    body_schema=resolve(json_body) if json_body else None,
                    body_media_types=tuple(content),
                )
            )
    return tuple(found)


def operation(name: str) -> Operation:
    for candidate in operations():
        if candidate.name == name:
            return candidate
    raise KeyError(f"{name} is not in {DOCUMENT.name}")
