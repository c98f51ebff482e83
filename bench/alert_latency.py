"""Alert latency: from the instant a rule's condition becomes true to its webhook arriving.

    python bench/alert_latency.py [--samples 40] [--window-intervals 4] [--interval SECONDS]

Starts `rxsight serve` (fresh data directory) with the rules scheduler at its default interval
(or --interval) and an alerts route with `group_wait: 0s`, grouped per exception, delivering
to a loopback receiver. Two kinds of finding, --samples of each, spread at random instants
over a few scheduler intervals so they sample every phase of the schedule:

- event-driven: a PO and its full receipt are posted up front; later each sample's invoice
  (10 % over the PO price: `unmatched_invoice/price_variance`, no grace period) is posted.
  The condition is true once the invoice is accepted: latency = webhook arrival - the post.
- time-driven: stat requests with no PO are posted up front, each dated so that its 1 h
  limit runs out inside the window, and nothing more is sent for them
  (`open_replenishment/no_po`). Latency = webhook arrival - the limit (the alert's `since`).

Prints p50, p95 and max of each against the target (p95 <= 2 s), and what the rules
evaluations cost meanwhile (count and mean seconds, from /metrics). Asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rules.config import RulesConfig  # noqa: E402
from testkit.receiver import Receiver  # noqa: E402
from testkit.server import Server  # noqa: E402

TOKEN = "bench-alert-latency-token-0123456789"
SECRET = "whsec_YmVuY2gtYWxlcnQtbGF0ZW5jeS1zZWNyZXQ="
TARGET_P95_S = 2.0


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(event_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": iso(at),
        "source_system": "bench",
        "site": "mercy-main",
        **fields,
    }


def po_received(i: int, now: datetime) -> list[dict[str, Any]]:
    po = {"correlation_id": f"corr-bench-{i}", "po_number": f"PO-B-{i}", "supplier_id": "SUP-B"}
    line = {"line_no": 1, "item_id": "NDC-B", "quantity": 10}
    receipt = {"receipt_id": f"GR-B-{i}"}
    return [
        event(
            "po.created",
            now - timedelta(hours=3),
            **po,
            lines=[{**line, "unit_price": "10.00"}],
            expected_at=iso(now + timedelta(days=1)),
        ),
        event("goods.received", now - timedelta(hours=2), **po, **receipt, lines=[line]),
        event("receipt.posted", now - timedelta(hours=2, minutes=-3), **po, **receipt),
    ]


def invoice(i: int) -> dict[str, Any]:
    return event(
        "invoice.received",
        datetime.now(UTC) - timedelta(seconds=1),
        correlation_id=f"corr-bench-{i}",
        po_number=f"PO-B-{i}",
        supplier_id="SUP-B",
        invoice_number=f"INV-B-{i}",
        lines=[{"line_no": 1, "item_id": "NDC-B", "quantity": 10, "unit_price": "11.00"}],
        amount="110.00",
    )


def stat_request(i: int, limit: datetime) -> dict[str, Any]:
    return event(
        "replenishment.requested",
        limit - timedelta(hours=1),  # stat: late one hour after the request without a PO
        correlation_id=f"corr-stat-{i}",
        domain="pharmacy",
        priority="stat",
        item_id="NDC-B",
        quantity=2,
    )


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def evaluations(srv: Server) -> tuple[float, float]:
    """(count, total seconds) of whole rules evaluations so far, from /metrics."""
    _, text = srv.request("GET", "/metrics")
    text = text.decode() if isinstance(text, bytes) else str(text)
    values = {"count": 0.0, "sum": 0.0}
    for line in text.splitlines():
        for kind in values:
            if line.startswith(f'rxsight_rules_evaluation_seconds_{kind}{{rule="all"}}'):
                values[kind] = float(line.split()[-1])
    return values["count"], values["sum"]


def report(kind: str, latencies: list[float], missing: int) -> None:
    if not latencies:
        print(f"{kind:<13} no webhook arrived ({missing} missing)")
        return
    p50, p95 = nearest_rank(latencies, 0.5), nearest_rank(latencies, 0.95)
    verdict = "met" if p95 <= TARGET_P95_S and not missing else "MISSED"
    print(
        f"{kind:<13} n {len(latencies):>3} (missing {missing})  p50 {p50:5.2f}s  "
        f"p95 {p95:5.2f}s  max {max(latencies):5.2f}s   target p95 <= {TARGET_P95_S:g}s: "
        f"{verdict}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=40, help="findings of each kind")
    ap.add_argument("--window-intervals", type=float, default=4)
    ap.add_argument("--interval", type=float, default=None, help="rules interval_s")
    args = ap.parse_args()

    interval = args.interval or RulesConfig().interval_s
    receiver = Receiver().start()
    rules_cfg: dict[str, Any] = {}
    if args.interval:
        rules_cfg["interval_s"] = args.interval
    cfg = {
        "rules": rules_cfg,
        "alerts": {
            "receivers": [
                {"name": "ops", "secret": SECRET, "webhooks": [{"url": receiver.url("/ops")}]}
            ],
            "route": {"receiver": "ops", "group_by": ["exception_id"], "group_wait": "0s"},
        },
    }
    srv = Server(cfg, admin_token=TOKEN)
    try:
        srv.start()
        now = datetime.now(UTC)
        window = args.window_intervals * interval
        # The window opens once the setup has surely been evaluated by a periodic run too.
        opens = now + timedelta(seconds=interval + 2)
        rng = random.Random(7)
        limits = {
            f"corr-stat-{i}": opens + timedelta(seconds=rng.uniform(0, window))
            for i in range(args.samples)
        }
        setup = [e for i in range(args.samples) for e in po_received(i, now)]
        setup += [stat_request(i, limits[f"corr-stat-{i}"]) for i in range(args.samples)]
        status, body = srv.request("POST", "/v1/events", setup)
        assert status == 200, body
        time.sleep(max(0.0, (opens - datetime.now(UTC)).total_seconds()))
        runs_before = evaluations(srv)

        sent: dict[str, float] = {}
        offsets = sorted((rng.uniform(0, window), i) for i in range(args.samples))
        start = time.monotonic()
        print(
            f"interval {interval:g}s, over {window:g}s: {args.samples} invoices posted and "
            f"{args.samples} request limits running out; group_wait 0s",
            flush=True,
        )
        for offset, i in offsets:
            time.sleep(max(0.0, start + offset - time.monotonic()))
            posting = invoice(i)
            sent[f"INV-B-{i}"] = time.time()
            status, body = srv.request("POST", "/v1/events", [posting])
            assert status == 200, body

        def arrivals() -> tuple[dict[str, float], dict[str, float]]:
            by_invoice: dict[str, float] = {}
            by_request: dict[str, float] = {}
            for hit in receiver.delivered("/ops"):
                for alert in hit.json["alerts"]:
                    if alert["status"] != "firing":
                        continue
                    notes = alert["annotations"]
                    if notes.get("invoice_number", "") in sent:
                        by_invoice.setdefault(notes["invoice_number"], hit.at)
                    elif notes.get("correlation_id", "") in limits:
                        by_request.setdefault(notes["correlation_id"], hit.at)
            return by_invoice, by_request

        deadline = time.monotonic() + max(window, 3 * interval) + 30
        while time.monotonic() < deadline:
            got_invoices, got_requests = arrivals()
            if len(got_invoices) == len(sent) and len(got_requests) == len(limits):
                break
            time.sleep(0.2)
        got_invoices, got_requests = arrivals()
        runs_after = evaluations(srv)
        report(
            "event-driven",
            [got_invoices[k] - sent[k] for k in got_invoices],
            len(sent) - len(got_invoices),
        )
        report(
            "time-driven",
            [got_requests[k] - limits[k].timestamp() for k in got_requests],
            len(limits) - len(got_requests),
        )
        count = runs_after[0] - runs_before[0]
        total = runs_after[1] - runs_before[1]
        if count:
            print(
                f"rules evaluations meanwhile: {count:.0f} in {window:g}s+, "
                f"mean {total / count:.3f}s, busy {total:.1f}s"
            )
    finally:
        srv.cleanup()
        receiver.stop()


if __name__ == "__main__":
    main()
