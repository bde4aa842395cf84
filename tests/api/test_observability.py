"""Operators' view (issue #8, item 6): request ids and Prometheus metrics per route."""

from __future__ import annotations

import re

from tests.api.client import Api

LINES = [{"sku": "TOWEL", "quantity": 2, "unit_price": 12500}]


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when it is not there yet)."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_every_answer_carries_a_request_id_and_keeps_a_safe_one_from_the_caller(
    api: Api,
) -> None:
    generated = await api.client.get("/health")
    kept = await api.client.get("/health", headers={"X-Request-ID": "till-7.req-42"})
    replaced = await api.client.get("/health", headers={"X-Request-ID": "a b; drop=1"})
    refused = await api.client.get("/v1/admin/program")

    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    assert kept.headers["x-request-id"] == "till-7.req-42"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    assert refused.status_code == 401
    assert "x-request-id" in refused.headers


async def test_metrics_count_requests_per_route_template_and_ledger_postings(api: Api) -> None:
    before = (await api.client.get("/metrics")).text
    till = await api.open_till()
    member = await till.enrol()
    sale = await till.sell("R1", LINES, member_id=member["member_id"])
    refund = await till.refund(sale.json()["sale_id"], {"refund_id": "F1", "amount": 100})
    assert refund.status_code == 201, refund.text

    after = await api.client.get("/metrics")

    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    route = "/v1/pos/sales/{sale_id}/refunds"
    for name, labels, grew_by in [
        (
            "loyalty_requests_total",
            {"path": "/v1/pos/sales", "method": "POST", "status_code": "201"},
            1,
        ),
        ("loyalty_requests_total", {"path": route, "method": "POST", "status_code": "201"}, 1),
        (
            "loyalty_request_duration_seconds_count",
            {"path": "/v1/pos/sales", "method": "POST", "status_code": "201"},
            1,
        ),
        ("loyalty_ledger_postings_total", {"type": "earn"}, 1),
        ("loyalty_ledger_postings_total", {"type": "reverse"}, 1),
    ]:
        assert sample(after.text, name, **labels) - sample(before, name, **labels) == grew_by, (
            name,
            labels,
        )
    assert sale.json()["sale_id"] not in after.text


async def test_the_metrics_endpoint_is_not_in_the_api_document(api: Api) -> None:
    document = (await api.client.get("/schema/openapi.json")).json()

    assert "/metrics" not in document["paths"]
