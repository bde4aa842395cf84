from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from adapters.http.schemas.common import Code, Input, Output, Page
from domain.crm import CrmSettings
from domain.program import ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.stores import Store, Terminal


class StoreIn(Input, kw_only=True):
    code: Code
    name: Annotated[str, Meta(min_length=1, max_length=200)]


class StoreOut(Output, kw_only=True):
    store_id: UUID
    code: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, store: Store) -> StoreOut:
        return cls(store_id=store.id, code=store.code, name=store.name, created_at=store.created_at)


class StorePageOut(Page, kw_only=True):
    items: list[StoreOut]


class TerminalIn(Input, kw_only=True):
    store_id: UUID
    code: Code


class TerminalDeactivationIn(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=500)] | None = None


SECRET_WITHHELD = (
    "true when this answer is the replay of an earlier request with the same Idempotency-Key: "
    "the secret was shown once, to that request, and is kept nowhere. If it was lost, rotate "
    "it (POST /v1/admin/terminals/{terminal_id}/secret)"
)


class TerminalOut(Output, kw_only=True):
    terminal_id: UUID
    store_id: UUID
    code: str
    created_at: datetime
    active: bool = True
    deactivated_at: datetime | None = None
    secret_version: Annotated[
        int, Meta(description="counts rotations; tokens of an older version are refused")
    ] = 1
    secret: Annotated[
        str | None,
        Meta(
            description="the terminal's secret, in the answer that created or rotated it "
            "only; null everywhere else (only a hash is kept)"
        ),
    ] = None
    secret_withheld: Annotated[bool, Meta(description=SECRET_WITHHELD)] = False

    @classmethod
    def of(cls, terminal: Terminal, secret: str | None = None) -> TerminalOut:
        return cls(
            terminal_id=terminal.id,
            store_id=terminal.store_id,
            code=terminal.code,
            created_at=terminal.created_at,
            active=terminal.active,
            deactivated_at=terminal.deactivated_at,
            secret_version=terminal.secret_version,
            secret=secret,
        )

    def withheld(self) -> TerminalOut:
        """This answer as a retry gets it: without the secret, saying so."""
        return msgspec.structs.replace(self, secret=None, secret_withheld=True)


class TerminalPageOut(Page, kw_only=True):
    items: list[TerminalOut]


class PointsExpiryIo(Input, kw_only=True):
    kind: Literal["never", "days", "end_of_month", "end_of_year"]
    count: Annotated[int, Meta(ge=0, le=3660)] | None = None


class CrmSettingsIo(Input, kw_only=True):
    """Lifecycle thresholds and the follow-up delay, in days; omitted in a PUT: the defaults
    (PATCH changes one without touching the others)."""

    new_days: Annotated[
        int, Meta(ge=1, le=3660, description="a member is `new` this many days after a first sale")
    ] = 30
    dormant_days: Annotated[
        int, Meta(ge=1, le=3660, description="`dormant` after this many days without a sale")
    ] = 90
    churned_days: Annotated[
        int, Meta(ge=1, le=3660, description="`churned` after this many days without a sale")
    ] = 180
    follow_up_days: Annotated[
        int, Meta(ge=1, le=365, description="follow-up calls are due this many days after a sale")
    ] = 7

    def to_settings(self) -> CrmSettings:
        return CrmSettings(
            new_days=self.new_days,
            dormant_days=self.dormant_days,
            churned_days=self.churned_days,
            follow_up_days=self.follow_up_days,
        )

    @classmethod
    def of(cls, crm: CrmSettings) -> CrmSettingsIo:
        return cls(
            new_days=crm.new_days,
            dormant_days=crm.dormant_days,
            churned_days=crm.churned_days,
            follow_up_days=crm.follow_up_days,
        )


Version = Annotated[
    int,
    Meta(
        ge=1,
        le=10**18,
        description="the version this change is based on, as GET gave it; 409 "
        "`program_changed` if another change was saved since. Omitted: no check",
    ),
]


class ProgramIn(Input, kw_only=True):
    """The whole settings document: what GET answers can be sent back as it is."""

    version: Version | None = None
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$", examples=["CNY"])]
    time_zone: Annotated[str, Meta(min_length=1, max_length=64, examples=["Asia/Shanghai"])]
    earn_rate: Annotated[Decimal, Meta(description="points per whole currency unit")]
    point_value: Annotated[Decimal, Meta(description="minor units one point is worth")]
    points_expiry: PointsExpiryIo
    pending_days: Annotated[int, Meta(ge=0, le=365)]
    crm: CrmSettingsIo = msgspec.field(default_factory=CrmSettingsIo)
    refunds_at_any_store: Annotated[
        bool,
        Meta(
            description=(
                "a sale can be returned at any store (audited with both stores); false: only "
                "at the store that recorded it, elsewhere 403 `other_store_returns_disabled`"
            )
        ),
    ] = True
    guest_claim_days: Annotated[
        int,
        Meta(
            ge=0,
            le=365,
            description="a member can claim a guest sale this many days after it; 0: never",
        ),
    ] = 30

    def to_settings(self) -> ProgramSettings:
        return ProgramSettings(
            currency=self.currency,
            time_zone=self.time_zone,
            earn_rate=self.earn_rate,
            point_value=self.point_value,
            points_expiry=PointsExpiryRule(
                ExpiryKind(self.points_expiry.kind), self.points_expiry.count
            ),
            pending_days=self.pending_days,
            crm=self.crm.to_settings(),
            refunds_at_any_store=self.refunds_at_any_store,
            guest_claim_days=self.guest_claim_days,
        )


class PointsExpiryPatch(Input, kw_only=True):
    kind: Literal["never", "days", "end_of_month", "end_of_year"] | UnsetType = UNSET
    count: Annotated[int, Meta(ge=0, le=3660)] | UnsetType | None = UNSET


class CrmSettingsPatch(Input, kw_only=True):
    new_days: Annotated[int, Meta(ge=1, le=3660)] | UnsetType = UNSET
    dormant_days: Annotated[int, Meta(ge=1, le=3660)] | UnsetType = UNSET
    churned_days: Annotated[int, Meta(ge=1, le=3660)] | UnsetType = UNSET
    follow_up_days: Annotated[int, Meta(ge=1, le=365)] | UnsetType = UNSET


class ProgramPatch(Input, kw_only=True):
    """A JSON merge patch (RFC 7396) of the settings: only the members it names change.
    `points_expiry.count: null` removes the count; every other setting cannot be null."""

    version: Version | UnsetType = UNSET
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] | UnsetType = UNSET
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] | UnsetType = UNSET
    earn_rate: Decimal | UnsetType = UNSET
    point_value: Decimal | UnsetType = UNSET
    points_expiry: PointsExpiryPatch | UnsetType = UNSET
    pending_days: Annotated[int, Meta(ge=0, le=365)] | UnsetType = UNSET
    crm: CrmSettingsPatch | UnsetType = UNSET
    guest_claim_days: Annotated[int, Meta(ge=0, le=365)] | UnsetType = UNSET

    def changes(self) -> dict[str, object]:
        """The patch as JSON values, without the version (a precondition, not a change)."""
        patch: dict[str, object] = msgspec.to_builtins(self)
        patch.pop("version", None)
        return patch


class ProgramOut(Output, kw_only=True):
    currency: str
    time_zone: str
    earn_rate: Decimal
    point_value: Decimal
    points_expiry: PointsExpiryIo
    pending_days: int
    version: int
    crm: CrmSettingsIo
    refunds_at_any_store: bool
    guest_claim_days: int

    @classmethod
    def of(cls, settings: ProgramSettings) -> ProgramOut:
        return cls(
            currency=settings.currency,
            time_zone=settings.time_zone,
            earn_rate=settings.earn_rate,
            point_value=settings.point_value,
            points_expiry=PointsExpiryIo(
                kind=settings.points_expiry.kind.value,
                count=settings.points_expiry.count,
            ),
            pending_days=settings.pending_days,
            version=settings.version,
            crm=CrmSettingsIo.of(settings.crm),
            refunds_at_any_store=settings.refunds_at_any_store,
            guest_claim_days=settings.guest_claim_days,
        )
