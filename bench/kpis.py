"""Benchmark of the KPIs: one month of /api/kpis rows, the XLSX export and a 12-period trend
over N generated transactions.

    .venv/bin/python bench/kpis.py --transactions 1000000

Generates the transactions with bench/rules.py's generator (about 8 events each, 30 days)
and spans in a temporary chDB directory, evaluates and persists the rules once (so the
exception KPIs have history), then times, in process as the API runs them: the KPI rows of
the month, the report of the month beside the previous one rendered as XLSX, the 12-month
trend the console draws, and the console's KPI page (first view, then kept). Prints seconds
(best of --repeat) and where the time of one month's rows goes (each KPI SQL file, the
unmatched_invoice findings they need).
Figures, no assertions.

`--data-dir DIR` keeps the generated store there and reuses it when run again with the same
--transactions and --spans (generating 1M transactions takes minutes). Before timing, the
KPI facts kept per PO, request, invoice and receipt are brought up to date, as the server does
after ingest.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.console import rules_bench  # noqa: E402
from bench.machine import report  # noqa: E402
from metrics import facts  # noqa: E402
from metrics import public as metrics_public  # noqa: E402
from metrics.definitions import sql_files  # noqa: E402
from metrics.exports import render  # noqa: E402
from metrics.kpi_cache import KpiPages  # noqa: E402
from metrics.kpis import compute, findings_params, kept_params, run_file  # noqa: E402
from metrics.periods import containing  # noqa: E402
from rules.config import LoadedRules, RulesConfig  # noqa: E402
from rules.engine import evaluate  # noqa: E402
from rules.lifecycle import persist  # noqa: E402
from rxsight.app import migrate_store  # noqa: E402
from rxsight.config import Settings  # noqa: E402
from rxsight.store import Store  # noqa: E402


def best(label: str, repeat: int, fn: object) -> object:
    """Wall seconds of the best of `repeat` calls, and the process's CPU seconds in it (the
    engine runs in this process: on a shared machine CPU is the steadier figure)."""
    times, result = [], None
    for _ in range(repeat):
        t, cpu = time.perf_counter(), time.process_time()
        result = fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t, time.process_time() - cpu))
    wall, cpu = min(times)
    print(
        f"{label:<44} best {wall:6.2f} s ({cpu:.2f} s CPU)   "
        f"all {', '.join(f'{x:.2f}' for x, _ in times)}"
    )
    return result


def prepared(data_dir: Path, transactions: int, spans: int) -> Store:
    """The store in data_dir, generated there unless a previous run left the same data."""
    gen = rules_bench()
    marker = data_dir / "bench-kpis.json"
    wanted = {"transactions": transactions, "spans": spans}
    reuse = marker.exists() and json.loads(marker.read_text()) == wanted
    store = Store(f"chdb://{data_dir / 'clickhouse'}")
    migrate_store(store)
    if reuse:
        events = store.query_value("SELECT count() FROM business_events")
        print(f"reusing {data_dir}: {transactions:,} transactions ({events:,} events)")
        return kept_facts(store, Settings(dsn=store.dsn, data_dir=data_dir))
    if store.query_value("SELECT count() FROM business_events"):
        raise SystemExit(f"{data_dir} holds other data: give an empty directory")
    as_of = gen.START + timedelta(days=gen.DAYS + 1)
    t = time.perf_counter()
    gen.generate(store, transactions, 0, transactions)
    gen.generate_spans(store, spans, as_of)
    gen.settle(store)
    events = store.query_value("SELECT count() FROM business_events")
    print(
        f"generated {transactions:,} transactions ({events:,} events, "
        f"{spans:,} spans) in {time.perf_counter() - t:.1f} s"
    )
    settings = Settings(dsn=store.dsn, data_dir=data_dir)
    t = time.perf_counter()
    result = evaluate(store, LoadedRules(RulesConfig(), (), ()), settings, as_of)
    persist(store, result)
    print(
        f"evaluated and persisted {len(result.findings):,} findings in "
        f"{time.perf_counter() - t:.1f} s"
    )
    marker.write_text(json.dumps(wanted))
    return kept_facts(store, settings)


def kept_facts(store: Store, settings: Settings) -> Store:
    """The per-PO and per-request KPI facts brought up to date, as the server's refresher does
    after ingest (metrics/facts.py); the generated facts are stamped as arriving now, so the
    clock is set past the refresh's visibility margin first."""
    age = store.query_value(
        "SELECT dateDiff('millisecond', max(received_at), now64(3)) / 1000 FROM rules_po_lines"
    )
    wait = facts.VISIBILITY_MARGIN.total_seconds() - float(age) + 1
    if wait > 0:
        print(f"waiting {wait:.0f} s: the generated facts must age past the refresh's margin")
        time.sleep(wait)
    t = time.perf_counter()
    facts.refresh(store, settings)
    print(f"KPI facts kept (once, after ingest): {time.perf_counter() - t:.1f} s")
    return store


def breakdown(store: Store, settings: Settings, start, end, as_of) -> None:  # noqa: ANN001
    """Where one month's rows spend their time: the findings, then each SQL file, one at a
    time (compute runs them two at a time)."""
    t, cpu = time.perf_counter(), time.process_time()
    params = kept_params(store, settings, [(start, end)], as_of)
    params.update(findings_params(store, settings, as_of, params))
    print(
        f"  {'unmatched_invoice findings':<28} {time.perf_counter() - t:6.2f} s "
        f"({time.process_time() - cpu:.2f} s CPU)"
    )
    for name in sql_files():
        t, cpu = time.perf_counter(), time.process_time()
        run_file(store, name, params)
        print(
            f"  {name + '.sql':<28} {time.perf_counter() - t:6.2f} s "
            f"({time.process_time() - cpu:.2f} s CPU)"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data-dir", type=Path, help="keep (and reuse) the generated store here")
    args = ap.parse_args()
    report("bench/kpis.py")
    gen = rules_bench()
    with tempfile.TemporaryDirectory(prefix="rxsight-bench-kpis-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        store = prepared(data_dir, args.transactions, args.spans)
        settings = Settings(dsn=store.dsn, data_dir=data_dir)
        as_of = gen.START + timedelta(days=gen.DAYS + 1)
        month = containing("month", gen.START)
        start, end = month.bounds()
        rows = best(
            f"/api/kpis rows, month {month.label}",
            args.repeat,
            lambda: compute(store, settings, start, end, as_of),
        )
        print(f"  {len(rows):,} rows")  # type: ignore[arg-type]
        breakdown(store, settings, start, end, as_of)
        data = best(
            "XLSX export (month beside the previous one)",
            args.repeat,
            lambda: render(metrics_public.report(store, settings, month, as_of), "xlsx"),
        )
        print(f"  {len(data):,} bytes")  # type: ignore[arg-type]
        best(
            "12-month trend (console)",
            args.repeat,
            lambda: metrics_public.trend(store, settings, month, as_of),
        )
        # The console's /kpis page: its 12 periods computed once (the first view), then kept
        # while nothing the KPIs read has changed (metrics/kpi_cache.py).
        pages = KpiPages(ttl_s=300)
        best("console /kpis page, first view", 1, lambda: pages.page(store, settings, month, as_of))
        best(
            "console /kpis page, next views",
            args.repeat,
            lambda: pages.page(store, settings, month, as_of),
        )
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
