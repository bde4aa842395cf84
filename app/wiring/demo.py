"""Demo data for a fresh installation: a store, a terminal, tiers and a few members."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from app import transactions
from app.container import Container
from app.unit_of_work import UnitOfWork
from app.use_cases.members import EnrolMember, enrol_member
from app.use_cases.stores import (
    CreateStore,
    CreateTerminal,
    RotateTerminalSecret,
    create_store,
    create_terminal,
    rotate_terminal_secret,
)
from app.use_cases.tiers import ProposedPolicy, update_tier_policy
from domain.errors import MemberExists
from domain.tiers import Tier, TierLadder

DEMO_STORE = "demo-store"
DEMO_TERMINAL = "demo-till"
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
    terminal_created: bool = True  # False: the demo terminal existed, its secret was rotated
    tiers_adopted: bool = True  # False: the installation's tier ladder was left as it was


async def seed_demo(container: Container, actor: str = "cli:seed-demo") -> DemoCredentials:
    """The demo store, its one terminal, the demo tiers and members; safe to run again.

    It changes configuration only through the paths an admin uses (versioned and audited),
    and only what nobody has set: the demo tier ladder is adopted while the installation
    still has its first policy (version 1), never over a ladder an admin saved, and the
    programme's settings are not touched. A second run adds no second terminal: the demo
    terminal gets a new secret (audited), so that this run's output can log in.
    """

    async def seed(uow: UnitOfWork) -> DemoCredentials:
        policy = await uow.tiers.policy()
        adopt = policy.version == 1
        if adopt:
            await update_tier_policy(
                ProposedPolicy(policy.window_days, policy.grace_days, DEMO_TIERS),
                actor,
                uow,
                clock=container.clock,
            )
        store = await uow.stores.get_store_by_code(DEMO_STORE)
        if store is None:
            store = await create_store(
                CreateStore(code=DEMO_STORE, name="Demo Store", actor=actor),
                uow,
                clock=container.clock,
                ids=container.ids,
            )
        existing = await uow.stores.get_terminal_by_code(store.id, DEMO_TERMINAL)
        if existing is None:
            terminal = await create_terminal(
                CreateTerminal(store_id=store.id, code=DEMO_TERMINAL, actor=actor),
                uow,
                clock=container.clock,
                ids=container.ids,
                random=container.random,
            )
        else:
            # Only a hash of the secret is kept: printing a working one means a new one.
            terminal = await rotate_terminal_secret(
                RotateTerminalSecret(existing.id, actor), uow, random=container.random
            )
        member_ids = []
        for phone, name in DEMO_MEMBERS:
            member = await uow.members.get_by_phone(container.contacts.phone(phone))
            if member is not None:
                member_ids.append(member.id)
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
        return DemoCredentials(
            store.id,
            terminal.terminal.id,
            terminal.secret,
            member_ids,
            terminal_created=existing is None,
            tiers_adopted=adopt,
        )

    return await transactions.write(container.uow, seed)
