"""A request as the fuzzer builds it (a JSON value, parameters, headers) and as it goes on the
wire (exact bytes: malformed bodies, raw percent-escapes and non-ASCII header bytes included).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import httpx

from tests.e2e.fuzz.findings import Sent

NO_BODY = object()
Signer = Callable[[bytes], dict[str, str]]


def encode_json(value: Any) -> bytes:
    # ensure_ascii: a lone surrogate goes out as the escape \ud800, which JSON allows.
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Request:
    operation: str  # "POST /v1/pos/sales/{sale_id}/refunds"
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    # A header set to None is not sent at all (wire() adds a JSON Content-Type otherwise).
    headers: dict[str, str | bytes | None] = field(default_factory=dict)
    body: Any = NO_BODY
    # Webhooks sign the exact bytes sent, so that malformed bodies reach their decoders.
    sign: Signer | None = None
    # Set by mutations that need bytes no JSON value or dict of parameters can express.
    raw_body: bytes | None = None
    raw_path: str | None = None
    raw_query: str | None = None

    @property
    def method(self) -> str:
        return self.operation.split(" ", 1)[0]

    @property
    def template(self) -> str:
        return self.operation.split(" ", 1)[1]

    def with_(self, **changes: Any) -> Request:
        return replace(self, **changes)

    def body_bytes(self) -> bytes | None:
        if self.raw_body is not None:
            return self.raw_body
        if self.body is NO_BODY:
            return None
        return encode_json(self.body)

    def target(self) -> tuple[str, str]:
        path = self.raw_path
        if path is None:
            path = self.template
            for name, value in self.path_params.items():
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
        query = self.raw_query
        if query is None:
            query = "&".join(
                f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in self.query.items()
            )
        return path, query

    def wire(self) -> tuple[Sent, dict[str, str | bytes]]:
        body = self.body_bytes()
        headers: dict[str, str | bytes] = {k: v for k, v in self.headers.items() if v is not None}
        absent = {k.lower() for k, v in self.headers.items() if v is None}
        if (
            body is not None
            and "content-type" not in absent
            and not any(k.lower() == "content-type" for k in headers)
        ):
            headers["Content-Type"] = "application/json"
        if self.sign is not None and body is not None:
            signed = self.sign(body)
            for name, value in signed.items():
                # A mutation that set the signature or the media type itself keeps its own.
                if name.lower() not in absent and not any(
                    k.lower() == name.lower() for k in headers
                ):
                    headers[name] = value
        path, query = self.target()
        shown = {k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in headers.items()}
        return Sent(self.method, path, query, shown, body), headers


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (the connection failed or timed out)
    headers: httpx.Headers
    content: bytes
    error: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    def show(self) -> str:
        if self.status is None:
            return f"no answer: {self.error}"
        return f"{self.status} {self.content_type} {self.content.decode('utf-8', 'replace')}"


def send(http: httpx.Client, request: Request) -> tuple[Sent, Answer]:
    sent, headers = request.wire()
    url = sent.path + (f"?{sent.query}" if sent.query else "")
    try:
        response = http.request(sent.method, url, content=sent.body, headers=headers)
    except httpx.LocalProtocolError:
        raise  # the fuzzer built a request HTTP cannot carry: its own bug, not the service's
    except httpx.HTTPError as error:
        return sent, Answer(None, httpx.Headers(), b"", f"{type(error).__name__}: {error}")
    return sent, Answer(response.status_code, response.headers, response.content)
