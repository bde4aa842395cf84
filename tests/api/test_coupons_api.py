"""Coupons at the till and in the wallet: discounts, refusals, refunds, and what members see."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.coupon_codes import ALPHABET, check_symbol
from tests.api.client import Api, Till
from tests.api.test_coupon_templates_api import count, create_template, iso, issue_one

DUVET = {"sku": "DUVET", "category": "bedding", "quantity": 1, "unit_price": 19999}
LINES = [DUVET]


async def member_with_till(api: Api) -> tuple[Till, str]:
    till = await api.open_till()
    member = await till.enrol()
    return till, member["member_id"]


async def quote(
    till: Till, member_id: str | None, codes: list[str], lines: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"lines": lines or LINES, "coupon_codes": codes}
    if member_id:
        body["member_id"] = member_id
    response = await till.post("/v1/pos/quote", body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def reasons(result: dict[str, Any]) -> dict[str, str]:
    return {r["code"]: r["code_reason"] for r in result["rejected_coupons"]}


async def wallet(api: Api, member_id: str, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    response = await api.client.get(
        "/v1/me/coupons", params=params, headers=api.member_headers(member_id)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def short_lived(api: Api, seconds: float, **fields: Any) -> tuple[dict[str, Any], datetime]:
    """A template whose fixed window ends ``seconds`` from now (the server's clock is ours)."""
    now = datetime.now(UTC)
    until = now + timedelta(seconds=seconds)
    template = await create_template(
        api,
        valid_days=None,
        valid_from=iso(now - timedelta(days=1)),
        valid_until=iso(until),
        **fields,
    )
    return template, until


async def wait_past(moment: datetime) -> None:
    delay = (moment - datetime.now(UTC)).total_seconds() + 0.2
    if delay > 0:
        await asyncio.sleep(delay)


def unknown_code() -> str:
    """A well-formed code (its check symbol is right) that nobody was issued."""
    payload = "7K3QHZ9M2CXW4R"
    return payload + check_symbol(payload)


def mistyped(code: str) -> str:
    """The printed code with one symbol changed: the check symbol catches it."""
    position = 3
    wrong = ALPHABET[(ALPHABET.index(code[position]) + 1) % len(ALPHABET)]
    return code[:position] + wrong + code[position + 1 :]


# Discounts -----------------------------------------------------------------------------------


async def test_a_fixed_coupon_takes_its_value_and_points_are_earned_on_what_is_paid(
    api: Api,
) -> None:
    till, member_id = await member_with_till(api)
    template = await create_template(api, value=3000)
    code = await issue_one(api, template["id"], member_id)

    result = await quote(till, member_id, [code])

    assert result["subtotal"] == 19999
    assert result["discount_total"] == 3000
    assert result["payable"] == 16999
    assert result["points_earned"] == 169  # floor(169.99), not floor(199.99)
    assert result["applied_coupons"] == [code]
    assert result["rejected_coupons"] == []

    sale = await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[code])
    assert sale.status_code == 201, sale.text
    assert (sale.json()["discount_total"], sale.json()["payable"]) == (3000, 16999)
    assert sale.json()["points_earned"] == 169
    assert sale.json()["points"]["available"] == 169
    [used] = await wallet(api, member_id)
    assert used["status"] == "redeemed"
    assert used["redeemed_at"] is not None


async def test_a_percent_coupon_rounds_down_to_the_minor_unit(api: Api) -> None:
    till, member_id = await member_with_till(api)
    template = await create_template(api, kind="percent", value=15)
    code = await issue_one(api, template["id"], member_id)

    result = await quote(till, member_id, [code])

    assert result["discount_total"] == 2999  # 15 % of 199.99 is 29.9985
    assert result["payable"] == 17000
    assert result["points_earned"] == 170


async def test_the_minimum_spend_counts_only_the_eligible_category_lines(api: Api) -> None:
    till, member_id = await member_with_till(api)
    template = await create_template(api, value=1000, min_spend=10000, categories=["bedding"])
    code = await issue_one(api, template["id"], member_id)
    toys = {"sku": "ROBOT", "category": "toys", "quantity": 1, "unit_price": 20000}

    short = await quote(
        till, member_id, [code], [{**DUVET, "unit_price": 5000}, toys]
    )  # 250.00 in all, 50.00 of bedding
    enough = await quote(till, member_id, [code], [{**DUVET, "unit_price": 12000}, toys])

    assert reasons(short) == {code: "min_spend_not_met"}
    assert short["discount_total"] == 0
    assert enough["applied_coupons"] == [code]
    assert enough["discount_total"] == 1000


async def test_a_discount_never_exceeds_the_amount(api: Api) -> None:
    till, member_id = await member_with_till(api)
    huge = await create_template(api, name="500 off", value=50000)
    bath_only = await create_template(api, name="bath 50 off", value=5000, categories=["bath"])
    whole = await issue_one(api, huge["id"], member_id)
    bath = await issue_one(api, bath_only["id"], member_id)
    towel = {"sku": "TOWEL", "category": "bath", "quantity": 1, "unit_price": 3000}

    everything = await quote(till, member_id, [whole])
    lines_only = await quote(till, member_id, [bath], [DUVET, towel])

    assert everything["discount_total"] == 19999
    assert everything["payable"] == 0
    assert everything["points_earned"] == 0
    assert lines_only["discount_total"] == 3000  # no more than the bath line is worth
    assert lines_only["payable"] == 19999

    sale = await till.sell("R-0", LINES, member_id=member_id, coupon_codes=[whole])
    assert sale.status_code == 201, sale.text
    assert sale.json()["payable"] == 0


async def test_two_coupons_that_are_not_stackable_apply_only_the_first(api: Api) -> None:
    till, member_id = await member_with_till(api)
    first = await issue_one(api, (await create_template(api, value=1000))["id"], member_id)
    second = await issue_one(api, (await create_template(api, value=2000))["id"], member_id)

    result = await quote(till, member_id, [first, second])
    sale = await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[first, second])

    assert result["applied_coupons"] == [first]
    assert reasons(result) == {second: "not_stackable"}
    assert result["discount_total"] == 1000
    assert sale.status_code == 422
    assert sale.json()["code"] == "coupon_not_redeemable"


async def test_stackable_coupons_combine_with_each_other_and_with_one_that_is_not(
    api: Api,
) -> None:
    till, member_id = await member_with_till(api)
    fixed = await create_template(api, value=1000, stackable=True)
    percent = await create_template(api, kind="percent", value=10, stackable=True)
    exclusive = await create_template(api, value=500)
    codes = [
        await issue_one(api, fixed["id"], member_id),
        await issue_one(api, percent["id"], member_id),
        await issue_one(api, exclusive["id"], member_id),
    ]

    result = await quote(till, member_id, codes)
    sale = await till.sell("R-1", LINES, member_id=member_id, coupon_codes=codes)

    assert result["applied_coupons"] == codes
    assert result["rejected_coupons"] == []
    assert result["discount_total"] == 1000 + 1999 + 500
    assert result["payable"] == 19999 - 3499
    assert sale.status_code == 201, sale.text
    assert sale.json()["applied_coupons"] == codes
    assert [c["status"] for c in await wallet(api, member_id)] == ["redeemed"] * 3


async def test_a_code_typed_in_lower_case_without_hyphens_and_with_aliases_applies(
    api: Api,
) -> None:
    till, member_id = await member_with_till(api)
    template = await create_template(api, value=1000)
    # Crockford aliases: O reads as 0 and I as 1; find a code with a 0 or a 1 to type so.
    code = ""
    for _ in range(40):
        code = await issue_one(api, template["id"], member_id)
        if "0" in code or "1" in code:
            break
    assert "0" in code or "1" in code
    typed = code.replace("-", "").replace("0", "O").replace("1", "I").lower()

    result = await quote(till, member_id, [typed])
    sale = await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[typed])

    assert result["applied_coupons"] == [code]  # answered in its printed form
    assert result["discount_total"] == 1000
    assert sale.status_code == 201, sale.text
    assert sale.json()["applied_coupons"] == [code]


# Refusals ------------------------------------------------------------------------------------


async def test_the_members_own_coupon_is_refused_with_the_precise_reason(api: Api) -> None:
    till, member_id = await member_with_till(api)
    used = await issue_one(api, (await create_template(api, value=100))["id"], member_id)
    assert (
        await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[used])
    ).status_code == 201
    big_spend = await issue_one(api, (await create_template(api, min_spend=50000))["id"], member_id)
    web_only = await issue_one(api, (await create_template(api, channels=["web"]))["id"], member_id)

    result = await quote(till, member_id, [used, big_spend, web_only])

    assert reasons(result) == {
        used: "redeemed",
        big_spend: "min_spend_not_met",
        web_only: "wrong_channel",
    }
    assert result["applied_coupons"] == []
    assert result["discount_total"] == 0


async def test_an_expired_coupon_is_refused_as_expired_and_listed_as_expired(api: Api) -> None:
    till, member_id = await member_with_till(api)
    template, until = await short_lived(api, 4)
    code = await issue_one(api, template["id"], member_id)
    before = await quote(till, member_id, [code])
    await wait_past(until)

    after = await quote(till, member_id, [code])
    sale = await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[code])

    assert before["applied_coupons"] == [code]
    assert reasons(after) == {code: "expired"}
    assert sale.status_code == 422
    assert sale.json()["code"] == "coupon_not_redeemable"
    # No job has run: the wallet reads the time.
    assert [c["code"] for c in await wallet(api, member_id, "expired")] == [code]
    assert await wallet(api, member_id, "available") == []


async def test_codes_that_are_not_the_members_own_all_read_not_redeemable(api: Api) -> None:
    till = await api.open_till()
    member_id = (await till.enrol("+8613800000001"))["member_id"]
    other_id = (await till.enrol("+8613800000002"))["member_id"]
    template = await create_template(api)
    others = await issue_one(api, template["id"], other_id)
    own = await issue_one(api, template["id"], member_id)
    unknown = unknown_code()
    typo = mistyped(own)

    result = await quote(till, member_id, [others, unknown, typo])
    guest = await quote(till, None, [own])

    assert reasons(result) == {
        others: "not_redeemable",
        unknown: "not_redeemable",
        typo: "malformed",
    }
    assert reasons(guest) == {own: "not_redeemable"}
    assert [c["status"] for c in await wallet(api, other_id)] == ["available"]


async def test_a_sale_with_any_rejected_coupon_is_refused_and_nothing_is_recorded(
    api: Api, clean_db: str
) -> None:
    till, member_id = await member_with_till(api)
    good = await issue_one(api, (await create_template(api))["id"], member_id)

    response = await till.sell(
        "R-1", LINES, member_id=member_id, coupon_codes=[good, unknown_code()]
    )

    assert response.status_code == 422
    assert response.json()["code"] == "coupon_not_redeemable"
    assert await count(clean_db, "SELECT count(*) FROM sales") == 0
    assert await count(clean_db, "SELECT count(*) FROM points_entries") == 0
    assert [c["status"] for c in await wallet(api, member_id)] == ["available"]
    assert (
        await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[good])
    ).status_code == 201


async def test_a_used_code_cannot_pay_for_a_second_sale(api: Api, clean_db: str) -> None:
    till, member_id = await member_with_till(api)
    code = await issue_one(api, (await create_template(api))["id"], member_id)

    first = await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[code])
    second = await till.sell("R-2", LINES, member_id=member_id, coupon_codes=[code])

    assert first.status_code == 201, first.text
    assert second.status_code == 422
    assert second.json()["code"] == "coupon_not_redeemable"
    assert await count(clean_db, "SELECT count(*) FROM sales") == 1


# Refunds -------------------------------------------------------------------------------------


async def test_a_full_refund_gives_the_coupon_back(api: Api) -> None:
    till, member_id = await member_with_till(api)
    code = await issue_one(api, (await create_template(api, value=3000))["id"], member_id)
    sale = (await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[code])).json()

    refund = await till.refund(sale["sale_id"], {"refund_id": "F-1", "amount": 16999})

    assert refund.status_code == 201, refund.text
    assert refund.json()["coupons_restored"] == [code]
    assert [c["status"] for c in await wallet(api, member_id)] == ["available"]
    again = await till.sell("R-2", LINES, member_id=member_id, coupon_codes=[code])
    assert again.status_code == 201, again.text
    assert again.json()["discount_total"] == 3000


async def test_a_partial_refund_keeps_the_coupon_used(api: Api) -> None:
    till, member_id = await member_with_till(api)
    code = await issue_one(api, (await create_template(api, value=3000))["id"], member_id)
    sale = (await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[code])).json()

    partial = await till.refund(sale["sale_id"], {"refund_id": "F-1", "amount": 10000})

    assert partial.status_code == 201, partial.text
    assert partial.json()["coupons_restored"] == []
    assert [c["status"] for c in await wallet(api, member_id)] == ["redeemed"]
    assert reasons(await quote(till, member_id, [code])) == {code: "redeemed"}

    rest = await till.refund(sale["sale_id"], {"refund_id": "F-2", "amount": 6999})
    assert rest.status_code == 201, rest.text
    assert rest.json()["coupons_restored"] == [code]  # now the sale is refunded in full


async def test_a_full_refund_after_the_coupon_ended_does_not_give_it_back(api: Api) -> None:
    till, member_id = await member_with_till(api)
    template, until = await short_lived(api, 4, value=3000)
    code = await issue_one(api, template["id"], member_id)
    sale = await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[code])
    assert sale.status_code == 201, sale.text
    await wait_past(until)

    refund = await till.refund(sale.json()["sale_id"], {"refund_id": "F-1", "amount": 16999})

    assert refund.status_code == 201, refund.text
    assert refund.json()["coupons_restored"] == []
    assert await wallet(api, member_id, "available") == []
    assert [c["status"] for c in await wallet(api, member_id)] == ["redeemed"]


# What members, tills and admins see ----------------------------------------------------------


async def test_the_wallet_filters_by_status(api: Api) -> None:
    till, member_id = await member_with_till(api)
    expiring, until = await short_lived(api, 4, name="soon gone")
    expired = await issue_one(api, expiring["id"], member_id)
    kept = await issue_one(api, (await create_template(api, name="kept"))["id"], member_id)
    used = await issue_one(api, (await create_template(api, name="used"))["id"], member_id)
    assert (
        await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[used])
    ).status_code == 201
    await wait_past(until)

    assert [c["code"] for c in await wallet(api, member_id, "available")] == [kept]
    assert [c["code"] for c in await wallet(api, member_id, "redeemed")] == [used]
    assert [c["code"] for c in await wallet(api, member_id, "expired")] == [expired]
    everything = await wallet(api, member_id)
    assert [c["code"] for c in everything] == [used, kept, expired]  # newest first
    assert {c["code"]: c["status"] for c in everything} == {
        used: "redeemed",
        kept: "available",
        expired: "expired",
    }


async def test_an_unknown_status_filter_is_422(api: Api) -> None:
    _, member_id = await member_with_till(api)

    response = await api.client.get(
        "/v1/me/coupons", params={"status": "lost"}, headers=api.member_headers(member_id)
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_the_wallet_pages_with_a_cursor(api: Api) -> None:
    _, member_id = await member_with_till(api)
    template = await create_template(api)
    codes = {await issue_one(api, template["id"], member_id) for _ in range(5)}
    headers = api.member_headers(member_id)

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(10):
        page = (await api.client.get("/v1/me/coupons", params=params, headers=headers)).json()
        seen += [c["code"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page["next_cursor"]}

    assert len(seen) == 5
    assert set(seen) == codes


async def test_the_till_lookup_lists_the_coupons_usable_at_the_till(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    member_id = member["member_id"]
    usable = await issue_one(
        api, (await create_template(api, name="till 10 off", min_spend=2000))["id"], member_id
    )
    await issue_one(api, (await create_template(api, channels=["web"]))["id"], member_id)
    used = await issue_one(api, (await create_template(api))["id"], member_id)
    assert (
        await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[used])
    ).status_code == 201

    response = await api.client.get(
        "/v1/pos/members/lookup",
        params={"card_number": member["card_number"]},
        headers=till.headers(),
    )

    assert response.status_code == 200, response.text
    [coupon] = response.json()["coupons"]
    assert coupon["code"] == usable
    assert (coupon["title"], coupon["kind"], coupon["value"], coupon["min_spend"]) == (
        "till 10 off",
        "fixed",
        1000,
        2000,
    )
    assert coupon["expires_at"] is not None


async def test_the_admin_360_view_shows_the_members_coupons(api: Api) -> None:
    till, member_id = await member_with_till(api)
    kept = await issue_one(api, (await create_template(api))["id"], member_id)
    used = await issue_one(api, (await create_template(api))["id"], member_id)
    assert (
        await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[used])
    ).status_code == 201

    view = await api.client.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)

    assert view.status_code == 200, view.text
    assert {c["code"]: c["status"] for c in view.json()["coupons"]} == {
        kept: "available",
        used: "redeemed",
    }


async def test_the_wallet_needs_a_member_token(api: Api) -> None:
    assert (await api.client.get("/v1/me/coupons")).status_code == 401
    response = await api.client.get("/v1/me/coupons", headers=api.admin_headers)
    assert response.status_code == 403


async def test_the_same_coupon_twice_in_one_basket_applies_once(api: Api) -> None:
    till, member_id = await member_with_till(api)
    code = await issue_one(api, (await create_template(api, stackable=True))["id"], member_id)
    typed_again = code.replace("-", "").lower()

    result = await quote(till, member_id, [code, typed_again])

    assert result["applied_coupons"] == [code]
    assert reasons(result) == {typed_again: "duplicate"}
    assert result["discount_total"] == 1000


async def test_a_coupon_whose_window_has_not_begun_is_not_yet_valid(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    start = datetime.now(UTC) + timedelta(days=10)
    template = await create_template(
        api,
        valid_days=None,
        valid_from=iso(start),
        valid_until=iso(start + timedelta(days=10)),
    )
    code = await issue_one(api, template["id"], member["member_id"])

    result = await quote(till, member["member_id"], [code])
    lookup = await api.client.get(
        "/v1/pos/members/lookup",
        params={"card_number": member["card_number"]},
        headers=till.headers(),
    )

    assert reasons(result) == {code: "not_yet_valid"}
    assert lookup.json()["coupons"] == []
    [coupon] = await wallet(api, member["member_id"])
    assert datetime.fromisoformat(coupon["valid_from"]) == start
