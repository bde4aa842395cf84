"""The app's lists (issue #17, item 8): every list is a page `{items, next_cursor}`, played
draw chances stay visible with their prize, and ledger entries name the purchase they come
from (receipt, store, channel), in the app and in the back office's 360 view."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.api.client import Api
from tests.api.test_coupon_templates_api import create_template
from tests.api.test_draws_api import a_member, chances, create_campaign, play, sell

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        found: dict[str, Any] = document["components"]["schemas"][name]
        return found
    return schema


def test_no_operation_answers_a_bare_array_and_every_list_is_a_page() -> None:
    document = json.loads(OPENAPI.read_text())
    bare, not_paged = [], []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                content = response.get("content", {}).get("application/json")
                if content is None:
                    continue
                schema = _schema(document, content["schema"])
                if schema.get("type") == "array":
                    bare.append(f"{method.upper()} {path}")
                if operation["operationId"].startswith("list"):
                    fields = set(schema.get("properties", {}))
                    if not {"items", "next_cursor"} <= fields:
                        not_paged.append(f"{method.upper()} {path}")
                    parameters = {p["name"] for p in operation.get("parameters", [])}
                    if not {"limit", "cursor"} <= parameters:
                        not_paged.append(f"{method.upper()} {path} (limit, cursor)")

    assert bare == []
    assert not_paged == []


async def test_the_members_feedback_is_a_page_with_a_cursor(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    headers = api.member_headers(member["member_id"])
    sent = []
    for n in range(3):
        response = await api.client.post(
            "/v1/me/feedback", json={"kind": "praise", "text": f"thanks {n}"}, headers=headers
        )
        assert response.status_code == 201, response.text
        sent.append(response.json()["feedback_id"])

    first = await api.client.get("/v1/me/feedback", params={"limit": 2}, headers=headers)
    rest = await api.client.get(
        "/v1/me/feedback",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=headers,
    )

    assert first.status_code == rest.status_code == 200, first.text
    assert set(first.json()) == {"items", "next_cursor"}
    assert first.json()["next_cursor"] is not None
    assert rest.json()["next_cursor"] is None
    seen = [f["feedback_id"] for f in first.json()["items"] + rest.json()["items"]]
    assert seen == list(reversed(sent))  # newest first, each once


async def test_played_chances_stay_listed_with_their_prize_and_coupon(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    template = await create_template(api, name="Prize 10 off")
    await create_campaign(
        api,
        prizes=[{"code": "ten-off", "name": "10 off", "weight": 1, "template_id": template["id"]}],
    )
    await sell(till, "R-1", member_id, 20000)
    await sell(till, "R-2", member_id, 20000)
    first, second = await chances(api, member_id)
    won = (await play(api, member_id, first["chance_id"])).json()

    headers = api.member_headers(member_id)
    unplayed = await api.client.get("/v1/me/draws", headers=headers)
    played = await api.client.get("/v1/me/draws", params={"status": "played"}, headers=headers)
    wrong = await api.client.get("/v1/me/draws", params={"status": "won"}, headers=headers)

    assert [c["chance_id"] for c in unplayed.json()["items"]] == [second["chance_id"]]
    assert unplayed.json()["items"][0]["status"] == "unplayed"
    assert played.status_code == 200, played.text
    [shown] = played.json()["items"]
    assert shown["chance_id"] == first["chance_id"]
    assert shown["status"] == "played"
    assert shown["played_at"] is not None
    assert shown["prize"] == won["prize"]
    assert shown["prize"]["coupon"]["title"] == "Prize 10 off"
    assert played.json()["next_cursor"] is None
    assert wrong.status_code == 422


async def test_ledger_entries_name_their_receipt_store_and_channel_in_the_app_and_the_360(
    api: Api,
) -> None:
    till = await api.open_till("flagship")
    member = await till.enrol()
    member_id = member["member_id"]
    sale = await till.sell(
        "RCPT-0042", [{"sku": "A", "quantity": 2, "unit_price": 5000}], member_id=member_id
    )
    assert sale.status_code == 201, sale.text
    refund = await till.refund(
        sale.json()["sale_id"],
        {"refund_id": "F-7", "lines": [{"sku": "A", "quantity": 1}]},
    )
    assert refund.status_code == 201, refund.text
    adjusted = await api.admin_post(
        f"/v1/admin/members/{member_id}/adjustments", {"points": 5, "reason": "goodwill"}
    )
    assert adjusted.status_code == 201, adjusted.text

    mine = await api.client.get("/v1/me/ledger", headers=api.member_headers(member_id))
    overview = await api.client.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)

    assert mine.status_code == overview.status_code == 200, mine.text
    for entries in (mine.json()["items"], overview.json()["ledger"]):
        by_type = {e["type"]: e for e in entries}
        earned, reversed_, adjustment = by_type["earn"], by_type["reverse"], by_type["adjust"]
        assert earned["sale"] == {
            "sale_id": sale.json()["sale_id"],
            "receipt_id": "RCPT-0042",
            "channel": "pos",
            "store_id": till.store_id,
            "store_name": "Store flagship",
            "refund_id": None,
        }
        assert reversed_["sale"]["receipt_id"] == "RCPT-0042"
        assert reversed_["sale"]["refund_id"] == "F-7"
        assert adjustment["sale"] is None
