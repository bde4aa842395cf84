"""Demo data for a fresh installation: a store, a terminal, tiers and a few members."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from app import transactions
from app.container import Container
from app.unit_of_work import UnitOfWork
from app.use_cases.members import EnrolMember, enrol_member
from app.use_cases.stores import CreateStore, CreateTerminal, create_store, create_terminal
from domain.errors import MemberExists
from domain.tiers import Tier, TierLadder

DEMO_STORE = "demo-store"
DEMO_TIERS = TierLadder.of(
    [
        Tier("member", "Member", 0, 0, Decimal(1)),
        Tier("silver", "Silver", 1, 200_000, Decimal("1.25")),
        Tier("gold", "Gold", 2, 1_000_000, Decimal("1.5")),
    ]
)
DEMO_MEMBERS = [
    ("+8613800138000", "Li Wei"),
    ("+8613900139000", "Wang Fang"),
    ("+447911123456", "Alex Smith"),
]


@dataclass(frozen=True)
class DemoCredentials:
    store_id: UUID
    terminal_id: UUID
    terminal_secret: str
    member_ids: list[UUID]


async def seed_demo(container: Container, actor: str = "cli:seed-demo") -> DemoCredentials:
    async def seed(uow: UnitOfWork) -> DemoCredentials:
        await uow.tiers.replace(DEMO_TIERS)
        store = await uow.stores.get_store_by_code(DEMO_STORE)
        if store is None:
            store = await create_store(
                CreateStore(code=DEMO_STORE, name="Demo Store", actor=actor),
                uow,
                clock=container.clock,
                ids=container.ids,
            )
        # A new terminal each run: its secret exists only in this run's output.
        code = f"till-{container.ids.new_id().hex[:8]}"
        terminal = await create_terminal(
            CreateTerminal(store_id=store.id, code=code, actor=actor),
            uow,
            clock=container.clock,
            ids=container.ids,
            random=container.random,
        )
        member_ids = []
        for phone, name in DEMO_MEMBERS:
            existing = await uow.members.get_by_phone(phone)
            if existing is not None:
                member_ids.append(existing.id)
                continue
            try:
                summary = await enrol_member(
                    EnrolMember(phone=phone, name=name, store_id=store.id),
                    uow,
                    clock=container.clock,
                    ids=container.ids,
                    random=container.random,
                    contacts=container.contacts,
                )
            except MemberExists:
                continue
            member_ids.append(summary.member_id)
        return DemoCredentials(store.id, terminal.terminal.id, terminal.secret, member_ids)

    return await transactions.write(container.uow, seed)
