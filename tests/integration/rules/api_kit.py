"""What the rules-over-HTTP tests share: a server with per-site thresholds and custom rules
(one per test module), and the calls they make to it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import yaml

from tests.support import Server

TOKEN = "rules-admin-token-0123456789abcdef"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)

CONFIG = {
    # Exceptions are assigned to configured people or teams only.
    "teams": {"buyers": {"name": "Pharmacy buyers"}},
    "rules": {
        # The tests drive evaluation through the API at fixed instants.
        "interval_s": 3600,
        "sites": {"site-b": {"open_replenishment": {"po_hours": {"stat": 0.5}}}},
        "owners": [
            {"family": "open_replenishment", "site": "site-b", "owner": "{site}-pharmacy"},
        ],
        "custom": ["custom-rules"],
    },
}
GOOD_RULE = {
    "id": "big_invoice",
    "family": "big_invoice",
    "description": "Invoices above an amount need a controller's look",
    "severity": "critical",
    "owner": "finance-controller",
    "params": {"min_amount": "10000"},
    "sql": """
SELECT 'over_limit' AS reason, min(occurred_at) AS since,
    concat(supplier_id, '/', invoice_number) AS entity,
    supplier_id, invoice_number, any(po_number) AS po_number
FROM business_events
WHERE event_type = 'invoice.received'
    AND occurred_at <= {as_of:DateTime64(3, 'UTC')}
    AND amount > toDecimal64({min_amount:String}, 4)
GROUP BY supplier_id, invoice_number
""",
}
BROKEN_RULE = {
    "id": "broken_rule",
    "severity": "warning",
    "sql": "SELECT 'x' AS reason FROM no_such_table_anywhere WHERE",
}


def ts(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def rules_api_server() -> Iterator[Server]:
    """The server of a test module: per-site thresholds, a good and a broken custom rule."""
    server = Server(CONFIG, admin_token=TOKEN)
    rules_dir = server.data_dir / "custom-rules"
    rules_dir.mkdir()
    (rules_dir / "big_invoice.yaml").write_text(yaml.safe_dump(GOOD_RULE))
    (rules_dir / "broken.yaml").write_text(yaml.safe_dump(BROKEN_RULE))
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def send(srv: Server, *events: dict[str, Any]) -> None:
    body = [
        {"event_id": str(uuid.uuid4()), "source_system": "test", **e, "occurred_at": ts(e["at"])}
        for e in events
    ]
    for item in body:
        item.pop("at")
    status, answer = srv.request("POST", "/v1/events", body)
    assert status == 200 and answer["accepted"] == len(body), answer


def evaluate(srv: Server, as_of: datetime, persist: bool = False) -> dict[str, Any]:
    query = urlencode({"as_of": ts(as_of), "persist": str(persist).lower()})
    # Accepted data becomes visible within a second; retry briefly rather than sleep blindly.
    status, body = srv.request("POST", f"/api/rules/evaluate?{query}", {})
    assert status == 200, body
    return body


def findings_for(body: dict[str, Any], **match: str) -> list[dict[str, Any]]:
    return [f for f in body["findings"] if all(f.get(k) == v for k, v in match.items())]


def wait_finding(srv: Server, as_of: datetime, **match: str) -> dict[str, Any]:
    found = srv.wait_for(lambda: findings_for(evaluate(srv, as_of), **match), timeout=10)
    return found[0]


def action(srv: Server, exc_id: str, name: str, **body: str) -> tuple[int, Any]:
    return srv.request("POST", f"/api/exceptions/{quote(exc_id, safe='')}/{name}", body)


def current(srv: Server, exc_id: str) -> dict[str, Any]:
    status, body = srv.request("GET", f"/api/exceptions/{quote(exc_id, safe='')}")
    assert status == 200, body
    return body
