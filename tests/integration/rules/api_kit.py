"""What the rules-over-HTTP tests share: sending events (and flows' spans), evaluating the
rules at an instant, finding what they found, acting on exceptions; and the server of the
rules API tests (per-site thresholds and custom rules, one per test module that asks for
`srv`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import yaml
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from rxsight.timeutil import rfc3339
from tests.support import Server

MS = timedelta(milliseconds=1)


def send(srv: Server, *events: dict[str, Any], source_system: str = "erp") -> None:
    """Events posted as one batch, every one accepted. Each gives `at` (a datetime) for
    occurred_at; event_id is made up, and source_system unless the event names one."""
    body = []
    for e in events:
        item = {"event_id": str(uuid.uuid4()), "source_system": source_system, **e}
        item["occurred_at"] = rfc3339(item.pop("at"))
        body.append(item)
    status, answer = srv.request("POST", "/v1/events", body)
    assert status == 200 and answer["accepted"] == len(body), answer


def evaluate(srv: Server, as_of: datetime, persist: bool = False) -> dict[str, Any]:
    """The rules' answer as of an instant (persisted as exceptions only when asked)."""
    query = urlencode({"as_of": rfc3339(as_of), "persist": str(persist).lower()})
    status, body = srv.request("POST", f"/api/rules/evaluate?{query}", {})
    assert status == 200, body
    return body


def findings_for(body: dict[str, Any], **match: str) -> list[dict[str, Any]]:
    return [f for f in body["findings"] if all(f.get(k) == v for k, v in match.items())]


def findings(srv: Server, as_of: datetime, **match: str) -> list[dict[str, Any]]:
    return findings_for(evaluate(srv, as_of), **match)


def wait_finding(srv: Server, as_of: datetime, **match: str) -> dict[str, Any]:
    """The first finding matching, once accepted events are visible (within a second)."""
    found = srv.wait_for(lambda: findings(srv, as_of, **match), timeout=10)
    return found[0]


def finding(srv: Server, as_of: datetime, **match: str) -> dict[str, Any] | None:
    """The one finding matching as of an instant, or None; every rule ran without errors."""
    body = evaluate(srv, as_of)
    assert not body["errors"], body
    mine = findings_for(body, **match)
    assert len(mine) <= 1, mine
    return mine[0] if mine else None


def assert_boundary(srv: Server, reason: str, since: datetime, **match: str) -> dict[str, Any]:
    """No finding for `reason` 1 ms before `since`; at `since` exactly and 1 ms after, the
    finding matching is `reason` since then."""
    # Accepted events are visible within a second: wait for the first, then judge exactly.
    got = srv.wait_for(lambda: finding(srv, since + MS, **match), timeout=10)
    assert got["reason"] == reason and got["since"] == rfc3339(since), got
    at_limit = finding(srv, since, **match)
    assert at_limit is not None and at_limit["reason"] == reason, at_limit
    before = finding(srv, since - MS, **match)
    assert before is None or before["reason"] != reason, before
    return got


@dataclass(frozen=True)
class Sent:
    """One span (flow) or event (source) the test sent."""

    kind: str  # flow | source_system
    name: str
    at: datetime
    correlation_id: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    error: bool = False

    @property
    def version(self) -> str:
        """DESIGN 5.8: `api.version`, else the version segment of `http.route`."""
        attrs = dict(self.attributes)
        if attrs.get("api.version"):
            return attrs["api.version"]
        found = re.search(r"(?:^|/)(v\d+(?:\.\d+)*)(?:/|$)", attrs.get("http.route", ""))
        return found.group(1) if found else ""


def _ns(dt: datetime) -> int:
    return int(dt.timestamp() * 1000) * 1_000_000


def send_spans(url: str, spans: list[Sent]) -> None:
    """Spans of integration flows, through the OpenTelemetry SDK as an integration exports
    them; each lasts 40 ms."""
    provider = TracerProvider(resource=Resource.create({"service.name": "governance-test"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{url}/v1/traces")))
    tracer = provider.get_tracer("rxsight-tests")
    for s in spans:
        attrs = {"integration.flow": s.name, **dict(s.attributes)}
        if s.correlation_id:
            attrs["correlation.id"] = s.correlation_id
        span = tracer.start_span("call", start_time=_ns(s.at), attributes=attrs)
        if s.error:
            span.set_status(Status(StatusCode.ERROR, "refused"))
        span.end(end_time=_ns(s.at) + 40_000_000)
    provider.shutdown()


def send_source_events(srv: Server, events: list[Sent]) -> None:
    """An inventory update from each source system named."""
    send(
        srv,
        *(
            {
                "event_type": "inventory.updated",
                "at": e.at,
                "correlation_id": e.correlation_id,
                "source_system": e.name,
                "site": "mercy-main",
                "item_id": "NDC-0001",
            }
            for e in events
        ),
    )


def put_masterdata(srv: Server, kind: str, text: str, filename: str, **kw: Any) -> tuple[int, Any]:
    """A master data file (CSV) of `kind` loaded over the API, as an operator uploads it."""
    query = urlencode({"filename": filename})
    return srv.request(
        "PUT", f"/api/masterdata/{kind}?{query}", text.encode(), content_type="text/csv", **kw
    )


def action(srv: Server, exc_id: str, name: str, **body: str) -> tuple[int, Any]:
    return srv.request("POST", f"/api/exceptions/{quote(exc_id, safe='')}/{name}", body)


def current(srv: Server, exc_id: str) -> dict[str, Any]:
    status, body = srv.request("GET", f"/api/exceptions/{quote(exc_id, safe='')}")
    assert status == 200, body
    return body


# The rules API tests' server (tests/integration/rules/conftest.py serves it as `srv`).
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


def rules_api_server() -> Iterator[Server]:
    """The server of a test module: per-site thresholds, a good and a broken custom rule."""
    server = Server(CONFIG, admin_token=TOKEN)
    rules_dir = server.data_dir / "custom-rules"
    rules_dir.mkdir()
    (rules_dir / "big_invoice.yaml").write_text(yaml.safe_dump(GOOD_RULE))
    (rules_dir / "broken.yaml").write_text(yaml.safe_dump(BROKEN_RULE))
    with server:
        yield server
