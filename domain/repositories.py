"""Repository ports, one per aggregate. Adapters implement them; tests use dict-backed fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.cards import MemberCard
from domain.members import Member
from domain.points import Consumption, LedgerEntry, PointsAccount
from domain.program import ProgramSettings
from domain.sales import RefundDecision, Sale
from domain.stores import Store, Terminal
from domain.tier_policy import Decision, MemberTier, TierChange, TierPolicy
from domain.tiers import TierLadder


class MemberRepository(Protocol):
    async def add(self, member: Member) -> bool:
        """Stores a new member with their card; False if the phone is already taken."""
        ...

    async def get(self, member_id: UUID) -> Member | None: ...

    async def get_by_phone(self, phone: str) -> Member | None: ...

    async def hold(self, member_id: UUID) -> Member | None:
        """The member, read once their points account is locked until the unit of work ends:
        the lock purchases and erasure take first, so what this returns is not erased by a
        concurrent erasure before this unit of work commits (see app.use_cases.erased_members).
        None if there is no such member (every member has an account and an active card from
        enrolment on, as ``get`` assumes too)."""
        ...

    async def existing(self, member_ids: Sequence[UUID]) -> dict[UUID, bool]:
        """Which of these ids are members, each with whether they were erased."""
        ...

    async def find_card(self, card_number: str) -> MemberCard | None: ...

    async def card_number_taken(self, card_number: str) -> bool: ...

    async def cards_of(self, member_id: UUID) -> list[MemberCard]:
        """Every card the member was issued, newest first, blocked ones included."""
        ...

    async def replace_card(self, member_id: UUID, new_card: MemberCard) -> None:
        """Blocks the member's active card and makes ``new_card`` the active one."""
        ...

    async def standing(self, member_id: UUID) -> MemberTier:
        """The member's tier and review state (the caller holds the member's account lock)."""
        ...

    async def change_tier(self, member_id: UUID, decision: Decision, event: TierEvent) -> None:
        """Stores the decided standing and, if the tier moved, a history record."""
        ...

    async def tier_history(self, member_id: UUID) -> list[TierChangeRecord]:
        """Newest first."""
        ...


class PointsRepository(Protocol):
    async def open_account(self, member_id: UUID) -> None: ...

    async def get(self, member_id: UUID) -> PointsAccount:
        """The account as of now, without locking it (for reads)."""
        ...

    async def get_for_update(self, member_id: UUID) -> PointsAccount:
        """The account, locked until the unit of work ends."""
        ...

    async def save(self, account: PointsAccount) -> None:
        """Writes the balances, lots, movements and the account's new entries."""
        ...

    async def consumed_by(self, member_id: UUID, posting_key: str) -> list[Consumption]:
        """What the entry with this posting key took from the member's lots."""
        ...

    async def entries(
        self, member_id: UUID, *, before_id: int | None, limit: int
    ) -> Sequence[LedgerEntry]:
        """Newest first."""
        ...


@dataclass(frozen=True, slots=True)
class RecordedRefund:
    id: UUID
    refund_id: str
    sale_id: UUID
    decision: RefundDecision
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Buyer:
    """A member at the moment of a purchase (see ``SaleRepository.buyer_for_update``)."""

    member: Member
    account: PointsAccount  # locked until the unit of work ends
    standing: MemberTier
    qualifying_value: int  # net spend at or after the ``since`` asked for


class SaleRepository(Protocol):
    async def add(self, sale: Sale) -> bool:
        """Stores a new sale; False if its store already has that receipt id."""
        ...

    async def buyer_for_update(
        self, member_id: UUID, since: datetime, *, spending: bool
    ) -> Buyer | None:
        """The member, their points account locked (every writer of a member's points and
        tier takes this lock first), and what is read once the lock is held: the account's
        open lots, the member's tier standing, and their qualifying value at or after
        ``since`` (as ``qualifying_value``). None if there is no such member.

        Unless the purchase is ``spending`` points, the account may hold only its frozen lots:
        enough to earn (a new lot) and to tell the balances, not to redeem.
        """
        ...

    async def get(self, sale_id: UUID) -> Sale | None: ...

    async def get_for_update(self, sale_id: UUID) -> Sale | None: ...

    async def by_receipt(self, store_id: UUID, receipt_id: str) -> Sale | None:
        """The store's sale with this receipt id (unique per store), its lines loaded."""
        ...

    async def refund_recorded(self, sale_id: UUID, refund_id: str) -> bool: ...

    async def add_refund(self, sale: Sale, refund: RecordedRefund) -> bool:
        """Stores a refund and the sale's new refunded totals; False if refund_id was used."""
        ...

    async def any_recorded(self) -> bool: ...

    async def of_member_by_receipt(self, member_id: UUID, receipt_id: str) -> Sale | None:
        """The member's sale with this receipt id (an online order's id), online ones first."""
        ...

    async def qualifying_value(self, member_id: UUID, since: datetime) -> int:
        """What the member paid (net of refunds) for purchases made at or after ``since``."""
        ...

    async def recent_for_member(self, member_id: UUID, limit: int) -> list[Sale]:
        """The member's latest sales, newest first (lines not loaded)."""
        ...

    async def oldest_qualifying_purchase(self, member_id: UUID, since: datetime) -> datetime | None:
        """When the member's oldest purchase at or after ``since`` that still counts (not
        wholly refunded) was made; None if there is none."""
        ...


class StoreRepository(Protocol):
    async def add_store(self, store: Store) -> bool:
        """False if the store code is taken."""
        ...

    async def get_store(self, store_id: UUID) -> Store | None: ...

    async def get_store_by_code(self, code: str) -> Store | None: ...

    async def add_terminal(self, terminal: Terminal) -> bool:
        """False if the store already has a terminal with this code."""
        ...

    async def get_terminal(self, terminal_id: UUID) -> Terminal | None: ...

    async def get_terminal_by_code(self, store_id: UUID, code: str) -> Terminal | None: ...

    async def get_terminal_for_update(self, terminal_id: UUID) -> Terminal | None:
        """The terminal, its row locked until the transaction ends."""
        ...

    async def save_terminal(self, terminal: Terminal) -> None:
        """Stores the terminal's secret hash and version and whether it is active."""
        ...

    async def list_stores(self, *, after: UUID | None, limit: int) -> Sequence[Store]:
        """Up to ``limit`` stores above ``after``, by id."""
        ...

    async def list_terminals(
        self, *, store_id: UUID | None, after: UUID | None, limit: int
    ) -> Sequence[Terminal]:
        """Up to ``limit`` terminals (of one store, or all) above ``after``, by id."""
        ...


class ProgramRepository(Protocol):
    async def get(self) -> ProgramSettings: ...

    async def get_for_update(self) -> ProgramSettings:
        """The settings, locked so that two changes cannot both start from the same version."""
        ...

    async def save(self, settings: ProgramSettings) -> None: ...


class TierRepository(Protocol):
    async def ladder(self) -> TierLadder: ...

    async def replace(self, ladder: TierLadder) -> None: ...

    async def policy(self) -> TierPolicy:
        """The policy in force: the latest version's window and grace, the current ladder."""
        ...

    async def save_policy(self, policy: TierPolicy, actor: str, at: datetime) -> None:
        """Stores ``policy`` as a new version and makes its ladder the current one."""
        ...

    async def adopt_policy(self, policy: TierPolicy, actor: str, at: datetime) -> int:
        """Like ``save_policy`` (raises ``TierPolicyChanged`` if the version is taken), and
        moves, set-based, every member whose tier the policy removes or who qualifies for a
        higher tier under it (reason ``policy_change``); nobody is moved down. Each move
        queues a ``tier_changed`` notification in the outbox. Returns how many members moved."""
        ...


@dataclass(frozen=True, slots=True)
class TierEvent:
    """When and why a tier decision was taken, for the history."""

    at: datetime
    policy_version: int
    actor: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class TierChangeRecord:
    change: TierChange
    event: TierEvent


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor: str
    action: str
    subject: str
    details: dict[str, object]


class AuditLog(Protocol):
    async def record(self, record: AuditRecord) -> None: ...
