"""The simulator against a live rxsight: every flow's spans, every event type, every family."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from rules import families as rule_families
from rxsight.model import EVENT_TYPES
from rxsight.timeutil import rfc3339
from simulator.catalog import FLOWS
from simulator.config import SimConfig
from simulator.demo import registry_config
from simulator.lifecycle import Replenishment
from simulator.world import World
from tests.support import REPO, Server, free_port

TOKEN = "sim-test-admin-token-0123456789"
SEED = 7


@pytest.fixture(scope="module")
def burst() -> Iterator[tuple[Server, dict[str, Any]]]:
    """A short seeded burst: a light 7-day back-fill, then 8 s live at 20 transactions/s
    (the live ERP outage is under way, the inventory sync has gone silent).

    The outage starts 25 minutes back, so that the whole 15-minute SLA window lies in it.
    A poller finds it at its next poll (up to 11 minutes in) and probes every 20-40 s
    from then on, each probe slow or failing; a failed transaction's ERP call ends 8-30 s
    after it started, later than the live burst. With the default start (8 minutes back)
    the window held between 0 and about 8 minutes of probes against 200 healthy live
    spans, and the breach depended on the minute the test ran."""
    # The demo's registry of flows and source systems: the world's governance story shows.
    srv = Server(registry_config(), admin_token=TOKEN).start()
    try:
        started = time.monotonic()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "simulator",
                "--url",
                srv.url,
                "--grpc",
                f"127.0.0.1:{srv.grpc_port}",
                "--seed",
                str(SEED),
                "--backfill-days",
                "7",
                "--backfill-per-day",
                "60",
                "--rate",
                "20",
                "--duration",
                "8",
                "--outage-at",
                "-25",
                "--outage-minutes",
                "45",
                # A little more of the rarer outcomes, so a light back-fill shows them all.
                "--fault",
                "requisition_rejected=0.05",
                "--fault",
                "unknown_po_invoice=0.05",
                "--fault",
                "erp_quantity_off=0.1",
                "--fault",
                "gl_journal_drop=0.1",
                "--fault",
                "journal_amount_off=0.05",
                "--fault",
                "supplier_no_ack=0.05",
                "--fault",
                "edi_queue_stall=0.05",
                # Its crosswalk: the EDI suppliers bill by catalog number.
                "--crosswalk",
                "--admin-token",
                TOKEN,
            ],  # fmt: skip
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        info = {"seconds": time.monotonic() - started, "stdout": out.stdout}
        yield srv, info
    finally:
        srv.cleanup()


def _store_counts(srv: Server) -> dict[str, Any]:
    """Event types and span flows as stored, read from the data directory once the server
    has stopped (chDB: one process per directory), in a child so this process opens none."""
    srv.stop()
    script = (
        "import json, sys\n"
        "from rxsight.store import Store\n"
        "s = Store(sys.argv[1], 'rxsight')\n"
        "q = lambda sql: [list(r) for r in s.query_rows(sql)]\n"
        "print(json.dumps({\n"
        " 'events': q('SELECT event_type, count() FROM business_events FINAL GROUP BY 1'),\n"
        " 'flows': q(\"SELECT Flow, count(),"
        " countIf(ParentSpanId != ''), uniqExact(ServiceName)"
        ' FROM otel_traces GROUP BY 1"),\n'
        " 'otlp_events': q(\"SELECT count() FROM business_events FINAL"
        " WHERE startsWith(source_system, 'edi-') OR source_system = 'receiving-dock'\"),\n"
        " 'phi': q(\"SELECT (SELECT countIf(has(mapKeys(SpanAttributes), 'patient.mrn'))"
        " FROM otel_traces), (SELECT countIf(SpanAttributes['priority'] = 'stat')"
        " FROM otel_traces), (SELECT countIf(has(mapKeys(attributes), 'patient.mrn'))"
        " FROM business_events), (SELECT count() FROM business_events"
        " WHERE priority = 'stat')\"),\n"
        "}, default=str))\n"
        "s.close()\n"
    )
    dsn = f"chdb://{srv.data_dir / 'clickhouse'}"
    out = subprocess.run(
        [sys.executable, "-c", script, dsn], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_family_of_exception_arrives(burst: tuple[Server, dict[str, Any]]) -> None:
    srv, info = burst
    assert "back-fill:" in info["stdout"] and "rejected" not in info["stdout"], info["stdout"]
    status, body = srv.request("POST", "/api/rules/evaluate?persist=false", {})
    assert status == 200, body
    families = {f["family"] for f in body["findings"]}
    every = set(rule_families.names())
    assert families == every, f"missing {every - families}"
    reasons = {(f["family"], f["reason"]) for f in body["findings"]}
    # The supplier's and the finance systems' faults, each with its reason.
    assert {
        ("supplier_response", "no_ack"),
        ("reconciliation", "quantity_mismatch"),
        ("reconciliation", "not_journaled"),
        ("reconciliation", "amount_mismatch"),
    } <= reasons, sorted(reasons)
    # The two scripted incidents: the silent inventory sync and the live ERP outage.
    assert ("sla_breach", "silence") in reasons
    # One interface per governance reason (simulator/catalog.py).
    governance = {
        f["details"]["name"]: f["reason"] for f in body["findings"] if f["family"] == "governance"
    }
    assert governance == {
        "periop-usage-sync": "unregistered_flow",
        "periop-supply": "unregistered_flow",
        "price-file-import": "low_correlation_coverage",
        "invoice-inbound": "deprecated_api",
        "fax-order-gateway": "stale_flow",
    }
    assert {f["flow"] for f in body["findings"] if f["family"] == "sla_breach"} >= {
        "inventory-sync",
        "replenishment-to-po",
    }


def test_catalog_billed_invoices_match_through_the_crosswalk(
    burst: tuple[Server, dict[str, Any]],
) -> None:
    srv, info = burst
    assert "crosswalk loaded: 46 items, 4 suppliers, 4 sites, 4 cost_centers" in info["stdout"]
    now = datetime.now(UTC)
    week = urlencode({"from": rfc3339(now - timedelta(days=7)), "to": rfc3339(now)})
    status, body = srv.request("GET", f"/api/kpis?{week}")
    assert status == 200, body
    rates = {
        r["group"].get("supplier_id"): r
        for r in body["rows"]
        if r["kpi"] == "invoice_first_pass_match_rate" and "supplier_id" in r["group"]
    }
    # The EDI suppliers bill catalog numbers on their own line numbers: without the
    # crosswalk not one of their invoices would match its PO.
    for edi_supplier in ("SUP-1001", "SUP-2002"):
        row = rates[edi_supplier]
        assert row["denominator"] >= 20 and row["value"] > 0.5, row
    status, found = srv.request("POST", "/api/rules/evaluate?persist=false", {})
    unmapped = [f for f in found["findings"] if f["family"] == "master_data"]
    catalog = [
        f for f in unmapped
        if f["details"]["source_system"] == "ap-inbox"
        and f["details"]["identifier"].startswith(("KDW-", "MPD-"))
    ]  # fmt: skip
    assert catalog and all(f["reason"] == "unmapped_item" for f in catalog), unmapped


def test_a_transaction_reads_end_to_end(burst: tuple[Server, dict[str, Any]]) -> None:
    srv, _ = burst
    status, body = srv.request("GET", "/api/search?q=RQ-MM-0000001")
    assert status == 200
    # Some early transaction of the main site has a full story: events and nested spans.
    for n in range(1, 60):
        status, tx = srv.request("GET", f"/api/transactions/RQ-MM-{n:07d}")
        if status == 200 and any(e["event_type"] == "goods.received" for e in tx["events"]):
            break
    else:
        pytest.fail("no main-site transaction reached its goods receipt")
    types = [e["event_type"] for e in tx["events"]]
    assert types[0] == "replenishment.requested" and "po.created" in types
    assert any(s["parent_span_id"] for s in tx["spans"]), tx["spans"][:3]


def _sent(stdout: str, what: str) -> int:
    """Events or spans sent, from the simulator's summaries (the closing one repeats the
    back-fill figure printed when the back-fill ended)."""
    numbers = [int(n.replace(",", "")) for n in re.findall(rf"([\d,]+) {what}", stdout)]
    return sum(numbers) - (numbers[0] if len(numbers) > 2 else 0)


def test_spans_of_every_flow_and_events_of_every_type(
    burst: tuple[Server, dict[str, Any]],
) -> None:
    srv, info = burst
    counts = _store_counts(srv)
    events = {t: n for t, n in counts["events"]}
    assert set(events) == set(EVENT_TYPES), f"missing {set(EVENT_TYPES) - set(events)}"
    # Nothing the simulator sent was lost or refused on the way (OTLP logs and JSON).
    assert sum(events.values()) == _sent(info["stdout"], "events"), info["stdout"]
    flows = {f: (n, nested, services) for f, n, nested, services in counts["flows"]}
    assert sum(n for n, _, _ in flows.values()) == _sent(info["stdout"], "spans")
    assert set(flows) >= {f.name for f in FLOWS}, (
        f"missing {set(f.name for f in FLOWS) - set(flows)}"
    )
    # Nested spans where the integration nests (receive -> transform -> post to the ERP).
    for flow in ("replenishment-to-po", "goods-receipt-sync", "asn-inbound", "invoice-inbound"):
        assert flows[flow][1] > 0, flow
    # Business events came both as OTLP log records (gateways, dock) and as /v1/events JSON.
    assert counts["otlp_events"][0][0] > 0
    # Stat requests carry a (fake) patient MRN; none of it reaches the store.
    spans_with_mrn, stat_spans, events_with_mrn, stat = counts["phi"][0]
    assert stat > 0 and stat_spans > 0
    assert spans_with_mrn == 0 and events_with_mrn == 0
    assert events["po.created"] > 0 and events["invoice.received"] > 0


class _Capture:
    """Records what the world emits (a stand-in for the exporters in a pure determinism
    check: the transport is exercised by the tests above)."""

    def __init__(self) -> None:
        from simulator.emit import SeededIds

        self.ids = SeededIds()
        self.out: list[Any] = []

    def span(self, service: str, flow: str, name: str, start: Any, end: Any, **kw: Any) -> Any:
        self.out.append(("span", service, flow, name, start, end, kw.get("corr"), kw.get("error")))
        return None

    def event_otlp(self, service: str, event: dict[str, Any], body: str, span: Any = None) -> None:
        self.out.append(("otlp", json.dumps(event, default=str, sort_keys=True)))

    def event_json(self, event: dict[str, Any], span: Any = None) -> None:
        self.out.append(("json", json.dumps(event, default=str, sort_keys=True)))


def test_a_seed_reproduces_the_run() -> None:
    anchor = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    def emitted(seed: int) -> list[Any]:
        cfg = SimConfig(seed=seed, anchor=anchor, backfill_days=2, backfill_per_day=80)
        tel = _Capture()
        World(cfg, tel, anchor, Replenishment).run_until(anchor)  # type: ignore[arg-type]
        return tel.out

    first, again, other = emitted(11), emitted(11), emitted(12)
    assert len(first) > 500
    assert first == again
    ids = [json.loads(x[1])["event_id"] for x in first if x[0] != "span"]
    assert len(ids) == len(set(ids))
    assert ids != [json.loads(x[1])["event_id"] for x in other if x[0] != "span"]


def test_rxsight_demo_logs_in_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """`rxsight demo` as a person runs it: a demo login that works, an API token that
    reads exceptions, and Ctrl-C stopping the simulator and the server."""
    port, grpc_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RXSIGHT_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rxsight.cli",
            "demo",
            "--data-dir",
            str(tmp_path),
            "--port",
            str(port),
            "--grpc-port",
            str(grpc_port),
            "--backfill-days",
            "1",
            "--rate",
            "5",
        ],  # fmt: skip
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or ()], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not any("simulator: back-fill:" in x for x in seen):
            assert time.monotonic() < deadline, "".join(seen)
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=1))
        out = "".join(seen)
        password = re.search(r"log in as admin\s+password (\S+)", out)
        token = re.search(r"Bearer (\S+?)'", out)
        assert password and token, out
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            form = client.get("/login").text
            login_token = re.search(r'name="login_token" value="([^"]+)"', form)
            assert login_token, form[:500]
            signed_in = client.post(
                "/login",
                data={
                    "username": "admin",
                    "password": password.group(1),
                    "login_token": login_token.group(1),
                    "next": "/",
                },
            )
            assert signed_in.status_code == 303, signed_in.text[:500]
            listed = client.get(
                "/api/exceptions", headers={"Authorization": f"Bearer {token.group(1)}"}
            )
            assert listed.status_code == 200
        server_pid = int((tmp_path / "rxsight.lock").read_text().split()[1])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        for _ in range(100):
            try:
                os.kill(server_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the demo's server (pid {server_pid}) outlived Ctrl-C")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
