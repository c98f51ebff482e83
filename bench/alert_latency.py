"""Alert latency: from ingesting the event that makes a rule true to its webhook arriving.

    python bench/alert_latency.py [--samples 40] [--window-intervals 4] [--interval SECONDS]

Starts `rxsight serve` (fresh data directory) with the rules scheduler at its default interval
(or --interval) and an alerts route with `group_wait: 0s`, grouped per exception, delivering
to a loopback receiver. Posts a PO and its full receipt for each sample up front; then posts
each sample's invoice (10 % over the PO price: `unmatched_invoice/price_variance`, no grace
period) at a random instant over a few scheduler intervals, so arrivals sample every phase of
the schedule. Latency = webhook arrival - the moment the invoice was posted. Prints p50, p95
and max against the target (p95 <= interval + 1 s). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rules.config import RulesConfig  # noqa: E402
from testkit.receiver import Receiver  # noqa: E402
from testkit.server import Server  # noqa: E402

TOKEN = "bench-alert-latency-token-0123456789"
SECRET = "whsec_YmVuY2gtYWxlcnQtbGF0ZW5jeS1zZWNyZXQ="


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def setup_events(i: int, now: datetime) -> list[dict]:
    base = {"correlation_id": f"corr-bench-{i}", "po_number": f"PO-B-{i}", "supplier_id": "SUP-B"}
    line = {"line_no": 1, "item_id": "NDC-B", "quantity": 10}
    return [
        {
            **base,
            "event_id": str(uuid.uuid4()),
            "event_type": "po.created",
            "occurred_at": iso(now - timedelta(hours=3)),
            "source_system": "erp",
            "site": "mercy-main",
            "lines": [{**line, "unit_price": "10.00"}],
            "expected_at": iso(now + timedelta(days=1)),
        },
        {
            **base,
            "event_id": str(uuid.uuid4()),
            "event_type": "goods.received",
            "occurred_at": iso(now - timedelta(hours=2)),
            "source_system": "dock",
            "site": "mercy-main",
            "receipt_id": f"GR-B-{i}",
            "lines": [line],
        },
        {
            **base,
            "event_id": str(uuid.uuid4()),
            "event_type": "receipt.posted",
            "occurred_at": iso(now - timedelta(hours=2) + timedelta(minutes=3)),
            "source_system": "erp",
            "site": "mercy-main",
            "receipt_id": f"GR-B-{i}",
        },
    ]


def invoice_event(i: int) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "invoice.received",
        "occurred_at": iso(datetime.now(UTC) - timedelta(seconds=1)),
        "correlation_id": f"corr-bench-{i}",
        "source_system": "ap-inbox",
        "po_number": f"PO-B-{i}",
        "supplier_id": "SUP-B",
        "invoice_number": f"INV-B-{i}",
        "lines": [{"line_no": 1, "item_id": "NDC-B", "quantity": 10, "unit_price": "11.00"}],
        "amount": "110.00",
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--window-intervals", type=float, default=4)
    ap.add_argument("--interval", type=float, default=None, help="rules interval_s")
    args = ap.parse_args()

    interval = args.interval or RulesConfig().interval_s
    receiver = Receiver().start()
    rules_cfg: dict = {"owners": [{"family": "unmatched_invoice", "owner": "accounts-payable"}]}
    if args.interval:
        rules_cfg["interval_s"] = args.interval
    cfg = {
        "rules": rules_cfg,
        "alerts": {
            "receivers": [
                {"name": "ap", "secret": SECRET, "webhooks": [{"url": receiver.url("/ap")}]}
            ],
            "route": {"receiver": "ap", "group_by": ["exception_id"], "group_wait": "0s"},
        },
    }
    srv = Server(cfg, admin_token=TOKEN)
    try:
        srv.start()
        now = datetime.now(UTC)
        setup = [e for i in range(args.samples) for e in setup_events(i, now)]
        status, body = srv.request("POST", "/v1/events", setup)
        assert status == 200, body
        # Let the setup be evaluated once so only the invoices remain to be found.
        time.sleep(interval + 2)
        sent: dict[str, float] = {}
        lock = threading.Lock()
        window = args.window_intervals * interval
        rng = random.Random(7)
        offsets = sorted((rng.uniform(0, window), i) for i in range(args.samples))
        start = time.monotonic()
        print(
            f"interval {interval:g}s, {args.samples} invoices over {window:g}s, group_wait 0s",
            flush=True,
        )
        for offset, i in offsets:
            time.sleep(max(0.0, start + offset - time.monotonic()))
            event = invoice_event(i)
            with lock:
                sent[f"INV-B-{i}"] = time.time()
            status, body = srv.request("POST", "/v1/events", [event])
            assert status == 200, body

        def arrivals() -> dict[str, float]:
            out: dict[str, float] = {}
            for hit in receiver.delivered("/ap"):
                for alert in hit.json["alerts"]:
                    inv = alert["annotations"].get("invoice_number", "")
                    if inv in sent and alert["status"] == "firing":
                        out.setdefault(inv, hit.at)
            return out

        deadline = time.monotonic() + 3 * interval + 30
        while time.monotonic() < deadline and len(arrivals()) < len(sent):
            time.sleep(0.2)
        got = arrivals()
        latencies = [got[k] - sent[k] for k in got]
        missing = len(sent) - len(got)
        if not latencies:
            print("no webhook arrived")
            return
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        target = interval + 1
        print(f"samples {len(latencies)} (missing {missing})")
        print(
            f"latency p50 {p50:.2f}s  p95 {p95:.2f}s  max {max(latencies):.2f}s  "
            f"mean {statistics.mean(latencies):.2f}s"
        )
        print(f"target p95 <= interval + 1 s = {target:g}s: {'met' if p95 <= target else 'MISSED'}")
    finally:
        srv.cleanup()
        receiver.stop()


if __name__ == "__main__":
    main()
