"""Benchmark of the rules engine: N transactions through the store, full and 1 %-changed runs.

    .venv/bin/python bench/rules.py --transactions 1000000

Generates the transactions (about 8 events each, the shapes the collector writes into
business_events, plus spans into otel_traces) inside a temporary chDB directory, then times a
full evaluation of every built-in rule, changes 1 % of the transactions (new receipts,
postings, invoices, matches) and times the evaluation again. Prints seconds and peak RSS.
Not a test: figures, no assertions.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import report  # noqa: E402
from rules.config import LoadedRules, RulesConfig  # noqa: E402
from rules.definitions import put_scope  # noqa: E402
from rules.engine import Evaluation, evaluate  # noqa: E402
from rules.incremental import IncrementalPlanner  # noqa: E402
from rxsight.app import migrate_store  # noqa: E402
from rxsight.config import Settings  # noqa: E402
from rxsight.store import Store  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30

# One INSERT ... SELECT per event type; {n} transactions spread over DAYS days, transaction i
# starting at START + i * step. Every column the collector writes is given explicitly.
_COLUMNS = (
    "event_id, event_type, occurred_at, received_at, correlation_id, source_system, site, "
    "domain, item_id, supplier_id, po_number, invoice_number, receipt_id, quantity, "
    "unit_price, amount, currency, cost_center, priority, status, expected_at, promised_at, "
    "due_at, trace_id, `lines.line_no`, `lines.item_id`, `lines.quantity`, "
    "`lines.unit_price`, `lines.uom`, attributes"
)

_EVENT = """
INSERT INTO business_events ({columns})
SELECT
    concat('{etype}-', toString(number + {offset})) AS event_id,
    '{etype}' AS event_type,
    {at} AS occurred_at,
    now64(3) AS received_at,
    concat('corr-', toString(number)) AS correlation_id,
    'bench' AS source_system,
    concat('site-', toString(number % 20)) AS site,
    '{domain}' AS domain,
    concat('NDC-', toString(number % 5000)) AS item_id,
    concat('SUP-', toString(number % 50)) AS supplier_id,
    {po} AS po_number,
    {invoice} AS invoice_number,
    {receipt} AS receipt_id,
    {quantity} AS quantity,
    CAST(NULL AS Nullable(Decimal(18, 4))) AS unit_price,
    {amount} AS amount,
    'USD' AS currency,
    '' AS cost_center,
    {priority} AS priority,
    {status} AS status,
    {expected} AS expected_at,
    {promised} AS promised_at,
    CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS due_at,
    '' AS trace_id,
    {l_no} AS `lines.line_no`,
    {l_item} AS `lines.item_id`,
    {l_qty} AS `lines.quantity`,
    {l_price} AS `lines.unit_price`,
    arrayMap(x -> 'EA', {l_no}) AS `lines.uom`,
    map() AS attributes
FROM numbers({first}, {count})
WHERE {where}
"""

_NULL_TIME = "CAST(NULL AS Nullable(DateTime64(3, 'UTC')))"
_NO_LINES = "CAST([] AS Array(UInt32))"
_BASE = "(toDateTime64({start}, 3, 'UTC') + toIntervalMillisecond(number * {step_ms}))"
_PO_LINES = "if(number % 3 = 0, [toUInt32(1), toUInt32(2)], [toUInt32(1)])"
_PO_ITEMS = "arrayMap(l -> concat('NDC-', toString((number + l) % 5000)), {l})"
_QTY = "arrayMap(l -> CAST(toDecimal64(10, 4) AS Nullable(Decimal(18, 4))), {l})"
_PRICE = "arrayMap(l -> CAST(toDecimal64(12.5 + (number % 7), 4) AS Nullable(Decimal(18, 4))), {l})"


def _event_kinds() -> list[dict[str, str]]:
    base = _BASE
    po = "concat('PO-', toString(number))"
    inv = "concat('INV-', toString(number))"
    rec = "concat('GR-', toString(number))"
    lines_po = _PO_LINES
    empty_str = "''"
    null_dec = "CAST(NULL AS Nullable(Decimal(18, 4)))"
    common = {
        "po": empty_str,
        "invoice": empty_str,
        "receipt": empty_str,
        "quantity": null_dec,
        "amount": null_dec,
        "priority": empty_str,
        "status": empty_str,
        "expected": _NULL_TIME,
        "promised": _NULL_TIME,
        "l_no": _NO_LINES,
        "l_item": "CAST([] AS Array(String))",
        "l_qty": "CAST([] AS Array(Nullable(Decimal(18, 4))))",
        "l_price": "CAST([] AS Array(Nullable(Decimal(18, 4))))",
        "where": "1",
    }
    with_lines = {
        "l_no": lines_po,
        "l_item": _PO_ITEMS.format(l=lines_po),
        "l_qty": _QTY.format(l=lines_po),
        "l_price": _PRICE.format(l=lines_po),
    }
    return [
        {
            **common,
            "etype": "replenishment.requested",
            "domain": "pharmacy",
            "at": base,
            "quantity": "CAST(toDecimal64(10, 4) AS Nullable(Decimal(18, 4)))",
            "priority": "['routine', 'urgent', 'stat'][number % 3 + 1]",
        },
        {
            **common,
            **with_lines,
            "etype": "po.created",
            "domain": "supply",
            "at": f"{base} + toIntervalMinute(30)",
            "po": po,
            "expected": f"{base} + toIntervalDay(2)",
        },
        {
            **common,
            "etype": "po.acknowledged",
            "domain": "supply",
            "at": f"{base} + toIntervalHour(1)",
            "po": po,
            "status": "if(number % 97 = 0, 'backordered', 'accepted')",
            "promised": f"{base} + toIntervalDay(2)",
        },
        {
            **common,
            **with_lines,
            "etype": "goods.received",
            "domain": "supply",
            "at": f"{base} + toIntervalDay(1)",
            "po": po,
            "receipt": rec,
            # Every 50th delivery is short.
            "l_qty": "arrayMap(l -> CAST(toDecimal64(if(number % 50 = 0, 4, 10), 4) "
            f"AS Nullable(Decimal(18, 4))), {lines_po})",
            "where": "number % 89 != 0",
        },
        {
            **common,
            "etype": "receipt.posted",
            "domain": "supply",
            "at": f"{base} + toIntervalDay(1) + toIntervalMinute(10)",
            "po": po,
            "receipt": rec,
            "where": "number % 89 != 0 AND number % 71 != 0",
        },
        {
            **common,
            **with_lines,
            "etype": "invoice.received",
            "domain": "finance",
            "at": f"{base} + toIntervalDay(2)",
            "po": po,
            "invoice": inv,
            "amount": "CAST(toDecimal64(125, 4) AS Nullable(Decimal(18, 4)))",
            # Every 61st invoice bills 5 % over the PO price.
            "l_price": "arrayMap(l -> CAST(toDecimal64((12.5 + (number % 7)) * "
            f"if(number % 61 = 0, 1.05, 1), 4) AS Nullable(Decimal(18, 4))), {lines_po})",
        },
        {
            **common,
            "etype": "invoice.matched",
            "domain": "finance",
            "at": f"{base} + toIntervalDay(2) + toIntervalHour(1)",
            "po": po,
            "invoice": inv,
            "where": "number % 61 != 0 AND number % 89 != 0 AND number % 50 != 0",
        },
        {
            **common,
            "etype": "payment.scheduled",
            "domain": "finance",
            "at": f"{base} + toIntervalDay(3)",
            "invoice": inv,
        },
    ]


def generate(store: Store, n: int, first: int, count: int, offset: int = 0) -> None:
    step_ms = int(DAYS * 86_400_000 / max(n, 1))
    start = f"'{START.strftime('%Y-%m-%d %H:%M:%S')}'"
    batch = 250_000
    for kind in _event_kinds():
        at = kind["at"].format(start=start, step_ms=step_ms)
        fields = {
            k: v.format(start=start, step_ms=step_ms) if "{" in v else v for k, v in kind.items()
        }
        fields["at"] = at
        for lo in range(first, first + count, batch):
            sql = _EVENT.format(
                columns=_COLUMNS,
                offset=offset,
                first=lo,
                count=min(batch, first + count - lo),
                **fields,
            )
            store.command(sql)


def generate_spans(store: Store, spans: int, end: datetime) -> None:
    # 20 flows over the last 6 hours before `end`; flow 7 errors a lot, flow 11 is slow.
    store.command(
        f"""
        INSERT INTO otel_traces (Timestamp, TraceId, SpanId, SpanName, SpanKind, ServiceName,
            ResourceAttributes, SpanAttributes, Duration, StatusCode)
        SELECT
            toDateTime64('{end.strftime("%Y-%m-%d %H:%M:%S")}', 9)
                - toIntervalMillisecond(intDiv(number * 21600000, {spans})) AS Timestamp,
            lower(hex(number)) AS TraceId, lower(hex(number * 7)) AS SpanId,
            'handle' AS SpanName, 'SPAN_KIND_SERVER' AS SpanKind, 'bench' AS ServiceName,
            map('integration.tier', toString(number % 3 + 1)) AS ResourceAttributes,
            map('integration.flow', concat('flow-', toString(number % 20)),
                'correlation.id', concat('corr-', toString(number))) AS SpanAttributes,
            if(number % 20 = 11, 1000000000000, 200000000 + number % 1000000) AS Duration,
            if(number % 40 = 7, 'Error', 'Ok') AS StatusCode
        FROM numbers({spans})
        """
    )


def settle(store: Store, limit_s: float = 120) -> None:
    """Waits for the background merges of what was just generated. Minutes of traffic
    arrived here in seconds; in service their merges would be long done, and they would
    otherwise take CPU from the evaluation being timed. Prints the wait."""
    t = time.perf_counter()
    while time.perf_counter() - t < limit_s and store.query_value(
        "SELECT count() FROM system.merges WHERE database = currentDatabase()"
    ):
        time.sleep(0.5)
    print(f"  (waited {time.perf_counter() - t:.1f} s for background merges to finish)")


def cpu_seconds() -> float:
    # chDB runs in this process: its threads' CPU time is ours. On a shared machine this is
    # the figure that does not depend on what the neighbours do.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--spans", type=int, default=500_000)
    ap.add_argument("--changed", type=float, default=0.01, help="fraction changed (0.01 = 1 %)")
    ap.add_argument("--data-dir", help="chDB directory (default: a temporary one)")
    ap.add_argument(
        "--verify", action="store_true", help="also run a full evaluation and compare findings"
    )
    args = ap.parse_args()

    tmp = None
    if args.data_dir:
        data_dir = Path(args.data_dir)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="rxsight-bench-")
        data_dir = Path(tmp.name)
    store = Store(f"chdb://{data_dir / 'clickhouse'}")
    migrate_store(store)
    settings = Settings(dsn=store.dsn, data_dir=data_dir)
    loaded = LoadedRules(RulesConfig(), (), ())
    n = args.transactions
    as_of = START + timedelta(days=DAYS + 1)

    report("before")
    t = time.perf_counter()
    generate(store, n, 0, n)
    generate_spans(store, args.spans, as_of)
    events = store.query_value("SELECT count() FROM business_events")
    print(
        f"generated {n:,} transactions, {events:,} events, {args.spans:,} spans "
        f"in {time.perf_counter() - t:.1f} s"
    )

    # The driver loads pandas on its first Arrow insert, a third of a second once per
    # process; a server has paid it at its writer's first batch, before any evaluation.
    put_scope(store, "warm-up", [])
    planner = IncrementalPlanner(full_every_s=float("inf"))
    # A scheduled run treats facts stamped within the last 10 s as possibly not yet visible
    # to its predecessor; let the generated ones age past that, as they would in service.
    time.sleep(11)
    settle(store)

    def scheduled(label: str) -> Evaluation:
        # Exactly what the scheduler does: plan (full the first time), evaluate, record.
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        plan = planner.plan(store, as_of)
        planned = time.perf_counter() - wall0
        result = evaluate(store, loaded, settings, as_of, scope=plan.scope, include_pending=True)
        result = planner.record(plan, result)
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        per_rule = ", ".join(f"{r.rule_id} {r.duration_s:.2f}s" for r in result.runs)
        kind = "full" if plan.scope is None else "incremental"
        scoped = (
            ""
            if plan.scope is None
            else f", {sum(len(v) for v in plan.scope.values()):,} entities looked at"
        )
        print(
            f"{label} ({kind}): {wall:.2f} s wall, {cpu:.2f} s CPU, "
            f"{len(result.findings):,} findings"
            f"{scoped} (planning {planned:.2f}s; rules, two at a time: {per_rule})"
        )
        for r in result.runs:
            if r.error:
                print("  error:", r.error)
        print(f"  peak RSS so far: {peak_rss_mib():.0f} MiB")
        return result

    scheduled("full evaluation")
    # 1 % of the transactions change: their events are sent again under new ids (a second
    # delivery, posting and invoice for the same business keys).
    changed = max(1, int(n * args.changed))
    t = time.perf_counter()
    generate(store, n, n // 2, changed, offset=10 * n)
    print(f"changed {changed:,} transactions in {time.perf_counter() - t:.1f} s")
    settle(store)
    incremental = scheduled("evaluation after the change")
    if args.verify:
        full = evaluate(store, loaded, settings, as_of)
        same = {f.key: (f.reason, f.since) for f in full.findings} == {
            f.key: (f.reason, f.since) for f in incremental.findings
        }
        print(
            f"check: a full evaluation now ({full.duration_s:.2f} s) gives the same findings: "
            f"{same}"
        )
    report("after")
    store.close()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
