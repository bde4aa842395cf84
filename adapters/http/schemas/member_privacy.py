from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta

from adapters.http.schemas.common import Output
from domain.member_privacy import Erasure, MemberExport


class MemberExportOut(Output, kw_only=True):
    member_id: UUID
    generated_at: datetime
    erased: bool
    tables: Annotated[
        dict[str, list[dict[str, Any]]],
        Meta(description="every row held about the member, by table, as stored"),
    ]

    @classmethod
    def of(cls, export: MemberExport) -> MemberExportOut:
        return cls(
            member_id=export.member_id,
            generated_at=export.generated_at,
            erased=export.erased,
            tables={name: list(rows) for name, rows in export.tables.items()},
        )


class ErasureOut(Output, kw_only=True):
    member_id: UUID
    erased_at: datetime
    changed: Annotated[dict[str, int], Meta(description="rows changed or removed, by table")]

    @classmethod
    def of(cls, erasure: Erasure) -> ErasureOut:
        return cls(
            member_id=erasure.member_id, erased_at=erasure.erased_at, changed=erasure.changed
        )
