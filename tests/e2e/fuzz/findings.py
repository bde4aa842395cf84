"""What the fuzzer found, one line each: class, operation, status, what was wrong; with the
request and the answer that show it, for the report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.fuzz.seed import SEED, replay_hint

# Every finding of the session, each kind of defect on each operation once, in the order
# found: printed together at its end.
SESSION: dict[tuple[str, str, int | None, str], Finding] = {}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


@dataclass(frozen=True)
class Sent:
    """A request as sent (the body as its bytes, since malformed bodies are the point)."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def show(self, limit: int = 240) -> str:
        target = f"{self.path}?{self.query}" if self.query else self.path
        shown = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        parts = [f"{self.method} {_clip(target, limit)}"]
        if shown:
            parts.append(_clip(json.dumps(shown, ensure_ascii=True), limit))
        if self.body is not None:
            parts.append(_clip(self.body.decode("utf-8", "backslashreplace"), limit))
        return " ".join(parts)


@dataclass(frozen=True)
class Finding:
    kind: str  # the class of defect: server_error, nul, time, config_poisoning, erasure, ...
    operation: str  # "POST /v1/pos/sales"
    status: int | None  # the answer's status; None when there was none (connection dropped)
    what: str  # one sentence
    sent: Sent | None = None
    answer: str = ""
    change: str = ""  # what the fuzzer changed in a valid request: "$.text = \"\\u0000\""

    @property
    def key(self) -> tuple[str, str, int | None, str]:
        return (self.kind, self.operation, self.status, self.what)

    def line(self) -> str:
        return f"{self.kind} | {self.operation} | {self.status} | {self.what}"

    def evidence(self) -> str:
        lines = [self.line()]
        if self.change:
            lines.append(f"    changed: {self.change}")
        if self.sent is not None:
            lines.append(f"    request: {self.sent.show()}")
        if self.answer:
            lines.append(f"    answer:  {_clip(self.answer, 300)}")
        lines.append(f"    seed:    {SEED}")
        return "\n".join(lines)


class Findings:
    """A test's findings, each kind of defect on each operation kept once (the first seen)."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, int | None, str], Finding] = {}

    def add(self, finding: Finding) -> None:
        if finding.key not in self.found:
            self.found[finding.key] = finding
            SESSION.setdefault(finding.key, finding)

    def __bool__(self) -> bool:
        return bool(self.found)

    def __len__(self) -> int:
        return len(self.found)

    def report(self, title: str) -> str:
        """The failure message: its first line names what was found (pytest's summary shows
        that line), then one line per finding, then the evidence of each."""
        items = list(self.found.values())
        kinds = sorted({f.kind for f in items})
        head = f"{title}: {len(items)} finding(s) [{', '.join(kinds)}] ({replay_hint()})"
        return "\n".join([head, *(f.line() for f in items), "", *(f.evidence() for f in items)])


def describe_answer(status: int, headers: Any, body: bytes) -> str:
    content_type = headers.get("content-type", "") if headers is not None else ""
    return f"{status} {content_type} {body.decode('utf-8', 'backslashreplace')}"
