from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from adapters.http.schemas.common import BalancesOut, Day, Input, Output, Page, TierOut
from app.read_models import EntrySource
from domain.members import (
    MAX_LANGUAGE_LENGTH,
    MAX_NAME_LENGTH,
    ConsentChange,
    ConsentChannel,
)
from domain.points import LedgerEntry, Reference

MAX_EMAIL_LENGTH = 254


class ExpiringOut(Output, kw_only=True):
    points: int
    expires_at: datetime


class MyPointsOut(BalancesOut, kw_only=True):
    expiring: list[ExpiringOut]


class ConsentOut(Output, kw_only=True):
    sms: bool
    email: bool
    push: bool

    @classmethod
    def of(cls, consents: frozenset[ConsentChannel]) -> ConsentOut:
        return cls(
            sms=ConsentChannel.SMS in consents,
            email=ConsentChannel.EMAIL in consents,
            push=ConsentChannel.PUSH in consents,
        )


class MeOut(Output, kw_only=True):
    member_id: UUID
    name: str | None
    card_number: str
    tier: TierOut
    points: MyPointsOut
    email: str | None
    birthday: Annotated[
        date | None,
        Meta(description="once set, only the programme's staff can change it"),
    ]
    preferred_language: str | None
    marketing_consent: ConsentOut


class ConsentIn(Input, kw_only=True):
    """Channels left out keep their consent."""

    sms: bool | UnsetType = UNSET
    email: bool | UnsetType = UNSET
    push: bool | UnsetType = UNSET


class MeUpdateIn(Input, kw_only=True):
    """JSON merge patch semantics: a field left out is kept, a field sent as null is cleared."""

    name: Annotated[str, Meta(max_length=MAX_NAME_LENGTH)] | UnsetType | None = UNSET
    email: Annotated[str, Meta(max_length=MAX_EMAIL_LENGTH)] | UnsetType | None = UNSET
    birthday: Annotated[
        Day | UnsetType | None,
        Meta(
            description=(
                "Set once: the same date again is accepted, another date or null is 409 "
                "birthday_locked (the programme's staff correct it)."
            )
        ),
    ] = UNSET
    preferred_language: (
        Annotated[
            str,
            Meta(
                max_length=MAX_LANGUAGE_LENGTH,
                description="a BCP 47 language tag: zh-CN, en, zh-Hant-TW",
                examples=["zh-CN"],
            ),
        ]
        | UnsetType
        | None
    ) = UNSET
    marketing_consent: ConsentIn | UnsetType = UNSET


class ConsentChangeOut(Output, kw_only=True):
    channel: str
    granted: bool
    changed_at: datetime
    source: Annotated[str, Meta(examples=["member_app", "admin"])]
    actor: str | None

    @classmethod
    def of(cls, change: ConsentChange) -> ConsentChangeOut:
        return cls(
            channel=change.channel.value,
            granted=change.granted,
            changed_at=change.changed_at,
            source=change.source.value,
            actor=change.actor,
        )


class ConsentHistoryPageOut(Page, kw_only=True):
    items: list[ConsentChangeOut]


class EntrySaleOut(Output, kw_only=True):
    sale_id: UUID
    receipt_id: str
    channel: Annotated[str, Meta(examples=["pos", "web"])]
    store_id: UUID
    store_name: str
    refund_id: Annotated[
        str | None, Meta(description="for a refund's entries: the refund's own id")
    ] = None

    @classmethod
    def of(cls, source: EntrySource) -> EntrySaleOut:
        return cls(
            sale_id=source.sale_id,
            receipt_id=source.receipt_id,
            channel=source.channel,
            store_id=source.store_id,
            store_name=source.store_name,
            refund_id=source.refund_id,
        )


class LedgerEntryOut(Output, kw_only=True):
    id: int
    type: str
    points: int
    reference: str
    created_at: datetime
    expires_at: datetime | None = None
    sale: Annotated[
        EntrySaleOut | None,
        Meta(description="the purchase behind the entry: receipt, store, channel"),
    ] = None

    @classmethod
    def of(
        cls, entry: LedgerEntry, sources: Mapping[Reference, EntrySource] | None = None
    ) -> LedgerEntryOut:
        source = sources.get(entry.reference) if sources else None
        return cls(
            id=entry.id or 0,
            type=entry.type.value,
            points=entry.points,
            reference=str(entry.reference),
            created_at=entry.created_at,
            expires_at=entry.expires_at,
            sale=EntrySaleOut.of(source) if source else None,
        )


class LedgerPageOut(Page, kw_only=True):
    items: list[LedgerEntryOut]


class BirthdayCorrectionIn(Input, kw_only=True):
    birthday: Annotated[Day | None, Meta(description="null removes it")]
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


class BirthdayOut(Output, kw_only=True):
    member_id: UUID
    birthday: date | None
