"""Back-office controls racing the tills, for real over TCP (see test_coupon_races.py):
an admin voiding a coupon while a till redeems it, an admin retiring a template while
another issues from it, and two admins rotating one terminal's secret."""

# The tests take the `world` fixture imported from test_coupon_races as their parameter.
# ruff: noqa: F811

from __future__ import annotations

from collections import Counter
from uuid import UUID

from tests.e2e.test_coupon_races import (  # noqa: F401 (world is a fixture)
    GATE,
    LINES,
    World,
    a_template,
    enrol,
    fetch,
    world,
)
from tests.support.overlap import race


async def test_a_void_and_a_redemption_of_one_coupon_at_once_let_exactly_one_through(
    world: World,
) -> None:
    [member_id] = await enrol(world, 1)
    template = await a_template(world)
    outcomes: Counter[str] = Counter()

    for n in range(6):
        issued = await world.admin.post(
            "/v1/admin/coupons/issue", {"template_id": template["id"], "member_ids": [member_id]}
        )
        [coupon] = issued.json()["issued"]
        (sale, void), waits = await race(
            world.db,
            [
                world.north.post(
                    "/v1/pos/sales",
                    {
                        "receipt_id": f"R-{n}",
                        "member_id": member_id,
                        "lines": LINES,
                        "coupon_codes": [coupon["code"]],
                    },
                ),
                world.admin.post(
                    f"/v1/admin/coupons/{coupon['coupon_id']}/void", {"reason": "race"}
                ),
            ],
            gate=GATE,
        )

        waits.assert_overlapped(f"a void and a sale of coupon {n}", at_least=2)
        [row] = await fetch(
            world.db, "SELECT status FROM coupons WHERE id = $1", UUID(coupon["coupon_id"])
        )
        if sale.status_code == 201:
            assert sale.json()["applied_coupons"] == [coupon["code"]]
            assert (void.status_code, void.json()["code"]) == (409, "coupon_not_voidable")
            assert row["status"] == "redeemed"
            outcomes["sale"] += 1
        else:
            assert (sale.status_code, sale.json()["code"]) == (422, "coupon_not_redeemable")
            assert void.status_code == 200, void.text
            assert row["status"] == "voided"
            outcomes["void"] += 1

    voids = await fetch(
        world.db, "SELECT count(*) AS n FROM audit_log WHERE action = 'coupon.voided'"
    )
    assert voids[0]["n"] == outcomes["void"]
    sales = await fetch(world.db, "SELECT count(*) AS n FROM sales")
    assert sales[0]["n"] == outcomes["sale"]


async def test_issues_racing_a_retirement_issue_only_before_it(world: World) -> None:
    members = await enrol(world, 8)
    template = await a_template(world)

    responses, waits = await race(
        world.db,
        [
            *(
                world.admin.post(
                    "/v1/admin/coupons/issue",
                    {"template_id": template["id"], "member_ids": [member_id]},
                )
                for member_id in members
            ),
            world.admin.post(f"/v1/admin/coupon-templates/{template['id']}/retire", {}),
        ],
        gate=GATE,
    )

    waits.assert_overlapped("8 issues and a retirement", at_least=9)
    *issues, retired = responses
    assert retired.status_code == 200, retired.text
    retired_at = retired.json()["retired_at"]
    issued = [r for r in issues if r.status_code == 201]
    refused = [r for r in issues if r.status_code != 201]
    assert {r.json()["code"] for r in refused} <= {"coupon_template_retired"}
    rows = await fetch(
        world.db,
        "SELECT c.issued_at, t.retired_at, t.issued FROM coupons c "
        "JOIN coupon_templates t ON t.id = c.template_id",
    )
    assert len(rows) == len(issued)
    assert all(row["issued_at"] <= row["retired_at"] for row in rows), retired_at
    assert all(row["issued"] == len(issued) for row in rows)


async def test_two_rotations_of_one_secret_at_once_leave_the_last_one_shown_working(
    world: World,
) -> None:
    store = await world.admin.post("/v1/admin/stores", {"code": "east", "name": "East"})
    terminal = await world.admin.post(
        "/v1/admin/terminals", {"store_id": store.json()["store_id"], "code": "till"}
    )
    terminal_id = terminal.json()["terminal_id"]

    rotations, waits = await race(
        world.db,
        [world.admin.post(f"/v1/admin/terminals/{terminal_id}/secret") for _ in range(2)],
        gate=GATE,
    )

    waits.assert_overlapped("two rotations", at_least=2)
    assert [r.status_code for r in rotations] == [200, 200], [r.text for r in rotations]
    by_version = {r.json()["secret_version"]: r.json()["secret"] for r in rotations}
    assert sorted(by_version) == [2, 3]
    logins = [
        await world.http.post(
            "/v1/auth/terminal-token", json={"terminal_id": terminal_id, "secret": secret}
        )
        for secret in (by_version[2], by_version[3])
    ]
    assert [login.status_code for login in logins] == [401, 200]
