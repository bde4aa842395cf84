"""Every stable error code a business rule can answer is in the Errors table of
docs/http-contract.md, under the status problems.py gives it (issue #17: every new code is
documented where integrators look)."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import domain
from adapters.http.problems import render_domain_error
from domain.errors import Conflict, DomainError, RuleViolation

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "http-contract.md"
CONSOLE = Path(__file__).resolve().parents[2] / "docs" / "console.md"
# The categories' own codes: never raised as such, only through a subclass.
ABSTRACT = {Conflict.code, RuleViolation.code}


def _errors() -> set[type[DomainError]]:
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    found: set[type[DomainError]] = set()
    pending = [DomainError]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.add(sub)
            pending.append(sub)
    return found


def _table() -> dict[str, set[int]]:
    section = CONTRACT.read_text().split("## Errors", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, set[int]] = {}
    for line in section.splitlines():
        row = re.match(r"^\| ([\d, ]+) \| (.*) \|$", line)
        if row:
            statuses = {int(s) for s in re.findall(r"\d{3}", row.group(1))}
            for code in re.findall(r"`(\w+)`", row.group(2)):
                documented.setdefault(code, set()).update(statuses)
    return documented


def test_every_domain_error_code_is_in_the_errors_table_under_its_status() -> None:
    documented = _table()
    missing, misplaced = [], []
    for error in _errors():
        if error.code in ABSTRACT:
            continue
        try:
            instance = error()
        except TypeError:
            continue  # needs arguments (rate_limited's Retry-After): checked by its own tests
        status = render_domain_error(instance).status_code
        if error.__module__ == "domain.staff":
            # Answered by the console's pages, never by the API: documented there.
            if f"`{error.code}`" not in CONSOLE.read_text():
                missing.append(error.code)
            continue
        if error.code not in documented:
            missing.append(error.code)
        elif status not in documented[error.code]:
            misplaced.append((error.code, status, sorted(documented[error.code])))

    assert "birthday_locked" in documented
    assert missing == []
    assert misplaced == []
