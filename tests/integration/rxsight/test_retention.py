"""Retention is truthful: tables derived from spans keep what the traces' configured
retention keeps, so an as-of replay long ago finds what the spans then said."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from tests.support import Server

FLOW = "erp-po-sync"
NINE_WEEKS_NS = 63 * 86_400 * 10**9

# What TTL merges would do in their own time (hours later), done now: every table's expired
# parts are dropped, as ClickHouse will drop them.
EXPIRE = r"""
import sys
from rxsight.store import Store
store = Store(sys.argv[1], "rxsight")
for (table,) in store.query_rows(
    "SELECT name FROM system.tables WHERE database = 'rxsight' AND engine LIKE '%MergeTree'"
):
    store.command(f"OPTIMIZE TABLE `{table}` FINAL")
"""

# The console's names of a transaction's codes (web/migrations/096).
NAMES_LEFT = r"""
import sys
from rxsight.store import Store
store = Store(sys.argv[1], "rxsight")
print(store.query_value(
    "SELECT count() FROM console_names WHERE correlation_id = {c:String}", {"c": sys.argv[2]}))
"""


def names_left(srv: Server, correlation_id: str) -> int:
    found = subprocess.run(
        [sys.executable, "-c", NAMES_LEFT, f"chdb://{srv.data_dir / 'clickhouse'}", correlation_id],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return int(found.stdout)


@pytest.fixture
def server():
    srv = Server({"retention": {"traces_days": 3650}, "flows": {FLOW: {"tier": 1}}}).start()
    yield srv
    srv.cleanup()


def test_an_instant_nine_weeks_back_finds_the_sla_breach_of_its_spans(server: Server):
    cid = f"ret-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource.create({"service.name": "erp-gateway"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{server.url}/v1/traces")))
    tracer = provider.get_tracer("rxsight-tests")
    then = time.time_ns() - NINE_WEEKS_NS
    for i in range(30):  # every one an error: a tier-1 error-rate breach in its window
        start = then + i * 10**9
        span = tracer.start_span(
            "post", start_time=start, attributes={"correlation.id": cid, "integration.flow": FLOW}
        )
        span.set_status(Status(StatusCode.ERROR, "supplier endpoint refused"))
        span.end(end_time=start + 200_000_000)
    provider.shutdown()
    server.wait_for(
        lambda: len(server.request("GET", f"/api/transactions/{cid}", token=None)[1]["spans"]) == 30
    )
    server.stop()
    dsn = f"chdb://{server.data_dir / 'clickhouse'}"
    subprocess.run([sys.executable, "-c", EXPIRE, dsn], check=True, timeout=300)
    server.start()

    as_of = datetime.fromtimestamp((then + 60 * 10**9) / 1e9, UTC).isoformat()
    status, body = server.request(
        "POST", f"/api/rules/evaluate?as_of={as_of.replace('+00:00', 'Z')}", {}, token=None
    )
    assert status == 200, body
    breaches = [f for f in body["findings"] if f["family"] == "sla_breach"]
    assert [(f["flow"], f["reason"]) for f in breaches] == [(FLOW, "error_rate")], body


def test_when_events_age_out_the_rules_facts_derived_from_them_go_too(tmp_path):
    """An open request 500 days old is found while the events are kept; once the configured
    retention no longer keeps them, neither the events nor the rules' facts nor the console's
    names say it. (500 days lies inside the derived tables' own 730-day TTL: only following
    the configured retention removes them.)"""
    srv = Server({"retention": {"events_days": 3650}}, data_dir=tmp_path)
    srv.start()
    try:
        then = datetime.now(UTC).replace(microsecond=0) - timedelta(days=500)
        cid = f"ret-req-{uuid.uuid4().hex[:8]}"
        request = {
            "event_id": f"{cid}-1",
            "event_type": "replenishment.requested",
            "occurred_at": then.isoformat(),
            "correlation_id": cid,
            "source_system": "cabinet",
            "site": "mercy-main",
            "item_id": "NDC-1",
            "quantity": 2,
            "priority": "stat",
            "attributes": {"item.description": "Retained-only-so-long vial"},
        }
        status, body = srv.request("POST", "/v1/events", [request], token=None)
        assert status == 200 and body["accepted"] == 1, body
        as_of = (then + timedelta(hours=12)).isoformat().replace("+00:00", "Z")

        def requests_open() -> list[str]:
            status, body = srv.request("POST", f"/api/rules/evaluate?as_of={as_of}", {}, token=None)
            assert status == 200, body
            return [f["correlation_id"] for f in body["findings"]]

        srv.wait_for(lambda: cid in requests_open(), timeout=20)
        srv.stop()
        assert names_left(srv, cid) == 1  # the request's item, with the name it was sent with
        srv.config_path.write_text(yaml.safe_dump({"retention": {"events_days": 365}}))
        srv.start()  # the new retention is applied at start
        srv.stop()
        subprocess.run(
            [sys.executable, "-c", EXPIRE, f"chdb://{srv.data_dir / 'clickhouse'}"],
            check=True,
            timeout=300,
        )
        assert names_left(srv, cid) == 0  # nor the console's names kept from those events
        srv.start()
        _, tx = srv.request("GET", f"/api/transactions/{cid}", token=None)
        assert tx["events"] == []
        assert cid not in requests_open()
    finally:
        srv.cleanup()
