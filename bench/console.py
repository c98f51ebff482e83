"""Benchmark of the console: p50 / p95 latency of every page (overview, exceptions with the
filters and the SLA clock, an exception, timeline, search, flows, a flow, a trace,
replenishments, rules, alerts) with N transactions stored.

    .venv/bin/python bench/console.py --transactions 1000000

Generates the transactions with bench/rules.py's generator (about 8 events each, plus spans)
in a temporary chDB directory, evaluates the rules once as of the end of the generated month
and persists the exceptions, then starts `rxsight serve` on that directory, signs in as a
console user and times 100 requests of each page over loopback (the figures are the time
to the last byte as seen by the client, so an upper bound of the server's time). Prints the
figures; not a test, no assertions.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from rules.config import LoadedRules, RulesConfig  # noqa: E402
from rules.engine import evaluate  # noqa: E402
from rules.lifecycle import persist  # noqa: E402
from rules.replenishments import refresh as refresh_replenishments  # noqa: E402
from rxsight.app import migrate_store  # noqa: E402
from rxsight.auth import hash_password  # noqa: E402
from rxsight.config import Settings  # noqa: E402
from rxsight.store import Store  # noqa: E402
from rxsight.timeutil import rfc3339, utcnow  # noqa: E402
from testkit.server import Server  # noqa: E402

PASSWORD = "bench-console-pass"
# The generated month (bench/rules.py) is weeks old: with the default 30 days of traces its
# spans would be dropped on the server's start, and with them every flow.
RETENTION_DAYS = 3650
# An SLA clock on every family, so the list computes, filters and sorts by it.
SLA = {
    "open_replenishment": {
        "stat": {"ack_minutes": 15, "resolve_hours": 8},
        "default": {"ack_minutes": 240, "resolve_hours": 72},
    },
    "default": {"default": {"ack_minutes": 60, "resolve_hours": 24}},
}


def rules_bench() -> ModuleType:
    """bench/rules.py is a script, not a package module (and `rules` is the stage's name)."""
    spec = importlib.util.spec_from_file_location("bench_rules", ROOT / "bench" / "rules.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare(data_dir: Path, n: int, spans: int) -> str:
    """Fill the store; returns the evaluation instant (RFC 3339)."""
    gen = rules_bench()
    store = Store(f"chdb://{data_dir / 'clickhouse'}")
    migrate_store(store)
    # The generated month lies weeks back: kept, as the server's configuration says.
    store.apply_retention(RETENTION_DAYS, RETENTION_DAYS)
    as_of = gen.START + timedelta(days=gen.DAYS + 1)
    t = time.perf_counter()
    gen.generate(store, n, 0, n)
    gen.generate_spans(store, spans, as_of)
    events = store.query_value("SELECT count() FROM business_events")
    print(
        f"generated {n:,} transactions ({events:,} events, {spans:,} spans) "
        f"in {time.perf_counter() - t:.1f} s"
    )
    t = time.perf_counter()
    settings = Settings(dsn=store.dsn, data_dir=data_dir)
    result = evaluate(store, LoadedRules(RulesConfig(), (), ()), settings, as_of)
    counts = persist(store, result)
    # The exceptions' history is written now, not at the generated instant: pages that look
    # at the exceptions as of an instant look just after this.
    (data_dir / "bench-persisted-at").write_text(rfc3339(utcnow() + timedelta(seconds=1)) or "")
    print(
        f"evaluated and persisted {len(result.findings):,} findings ({counts}) "
        f"in {time.perf_counter() - t:.1f} s"
    )
    # The generator inserts in large batches, leaving many parts behind; a store that has been
    # running has merged them in the background. Settle the console's tables the same way.
    t = time.perf_counter()
    for table in ("business_events", "console_keys"):
        store.command(f"OPTIMIZE TABLE {table} FINAL")
    print(f"merged the console tables in {time.perf_counter() - t:.1f} s")
    traces = store.query("SELECT DISTINCT TraceId FROM otel_traces LIMIT 100")
    (data_dir / "bench-traces").write_text("\n".join(r["TraceId"] for r in traces))
    store.close()
    return as_of.strftime("%Y-%m-%dT%H:%M:%SZ")


def keep_replenishments(data_dir: Path) -> None:
    """Brings the kept rows /replenishments reads up to date, as a running server's rules
    scheduler keeps them (the bench's server runs no evaluation while pages are timed, and
    its refresh on start would run beside them)."""
    store = Store(f"chdb://{data_dir / 'clickhouse'}")
    migrate_store(store)
    t = time.perf_counter()
    refresh_replenishments(store, Settings(dsn=store.dsn, data_dir=data_dir))
    print(f"refreshed the kept replenishment rows in {time.perf_counter() - t:.1f} s")
    store.close()


def server_traces(data_dir: Path, k: int) -> list[str]:
    """Trace IDs to open, read before the server holds the directory (chDB: one process)."""
    marker = data_dir / "bench-traces"
    return marker.read_text().split()[:k] if marker.exists() else []


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, "no sign-in form"
    answer = client.post(
        "/login",
        data={"username": "bench", "password": PASSWORD, "login_token": token.group(1)},
    )
    assert answer.status_code == 303, answer.text[:500]


def timed(client: httpx.Client, label: str, paths: list[str]) -> None:
    """Prints the page's figures; a page slower than the client's timeout is said so and the
    bench goes on to the next page."""
    times = []
    try:
        client.get(paths[0])  # warm: first query of a kind compiles and loads marks
        for path in paths:
            t = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - t) * 1000)
            if answer.status_code not in (200, 303):  # a search that finds one redirects
                raise SystemExit(f"{path}: HTTP {answer.status_code}\n{answer.text[:800]}")
    except httpx.TimeoutException:
        timeout = client.timeout.read
        print(f"{label:<18} timed out: a request took longer than {timeout:g} s")
        return
    times.sort()
    p50 = statistics.median(times)
    p95 = times[max(int(len(times) * 0.95) - 1, 0)]
    print(
        f"{label:<18} n={len(times):<4} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {times[-1]:7.1f} ms"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--spans", type=int, default=500_000)
    ap.add_argument("--requests", type=int, default=100, help="requests per page")
    ap.add_argument("--data-dir", help="reuse a directory filled by an earlier run")
    ap.add_argument(
        "--console-only",
        action="store_true",
        help="turn the alert dispatcher off too, as in a console-only process (DESIGN 9); "
        "by default it runs, polling the exceptions four times a second",
    )
    ap.add_argument(
        "--pages",
        help="time only the pages whose label matches this regular expression "
        "(e.g. 'exceptions|overview')",
    )
    args = ap.parse_args()
    wanted = re.compile(args.pages) if args.pages else None

    tmp = None
    if args.data_dir:
        data_dir = Path(args.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="rxsight-bench-console-")
        data_dir = Path(tmp.name)
    marker = data_dir / "bench-as-of"
    if marker.exists():
        as_of = marker.read_text().strip()
        print(f"reusing {data_dir} (as of {as_of})")
    else:
        as_of = prepare(data_dir, args.transactions, args.spans)
        marker.write_text(as_of)
    keep_replenishments(data_dir)

    config = {
        "users": [{"username": "bench", "password_hash": hash_password(PASSWORD), "role": "admin"}],
        # The scheduler would evaluate "now" over the whole store while we time pages.
        "rules": {"interval_s": 86400, "sla": SLA},
        "retention": {"traces_days": RETENTION_DAYS, "events_days": RETENTION_DAYS},
        "teams": {"buyers": {"name": "Buyers", "members": ["bench"]}},
    }
    if args.console_only:
        config["alerts"] = {"enabled": False}
    server = Server(config, data_dir=data_dir).start(timeout=300)
    try:
        rng = random.Random(7)
        n = args.transactions
        k = args.requests
        persisted = quote((data_dir / "bench-persisted-at").read_text().strip())
        mid_month = quote(rfc3339(rules_bench().START + timedelta(days=15)) or "")
        with httpx.Client(base_url=server.url, timeout=60) as client:
            sign_in(client)
            if not args.console_only:
                # The dispatcher reads every open exception at start, under its lock: time the
                # pages once it runs as it does all day, not while it loads.
                t = time.perf_counter()
                while "Firing 0<" in client.get("/alerts?show=1", timeout=900).text:
                    if time.perf_counter() - t > 600:
                        break  # a store without open exceptions
                    time.sleep(1)
                print(f"alert dispatcher loaded after {time.perf_counter() - t:.1f} s")

            def page(label: str, paths: list[str]) -> None:
                if wanted is None or wanted.search(label):
                    timed(client, label, paths)

            page("overview", [f"/?as_of={as_of}"] * k)
            page("overview (now)", ["/"] * k)
            pages = ["/exceptions?owner=all"] + [
                f"/exceptions?owner=all&page={rng.randint(1, 20)}" for _ in range(k - 1)
            ]
            page("exceptions list", pages)
            page(
                "exceptions filtered",
                [
                    f"/exceptions?owner=all&family=unmatched_invoice&site=site-{rng.randint(0, 19)}"
                    for _ in range(k)
                ],
            )
            filtered = {
                "exceptions by SLA due": "sort=due",
                "exceptions overdue": "due=overdue",
                "exceptions stat": "priority=stat&family=open_replenishment",
                "exceptions supplier": "supplier=sup-1",
                "exceptions item": "item=ndc-1",
                "exceptions search": "q=inv-1",
                "exceptions mine": "assignee=me",
                "exceptions as of": f"as_of={persisted}",
            }
            for label, query in filtered.items():
                page(label, [f"/exceptions?owner=all&{query}"] * k)
            sample = client.get("/api/exceptions?limit=100&sort=due").json()["items"]
            page(
                "an exception",
                [f"/exceptions/{quote(rng.choice(sample)['exception_id'], safe='')}"] * k,
            )
            page(
                "an exception as of",
                [
                    f"/exceptions/{quote(rng.choice(sample)['exception_id'], safe='')}"
                    f"?as_of={persisted}"
                ]
                * k,
            )
            page(
                "timeline",
                [f"/transactions/corr-{rng.randrange(n)}" for _ in range(k)],
            )
            page(
                "timeline as of",
                [f"/transactions/corr-{rng.randrange(n // 2)}?as_of={mid_month}" for _ in range(k)],
            )
            page(
                "search by PO",
                [f"/transactions?q=PO-{rng.randrange(n)}" for _ in range(k)],
            )
            page("flows", [f"/flows?as_of={as_of}"] * k)
            flows = client.get(f"/api/flows?as_of={as_of}").json()["flows"]
            page(
                "a flow",
                [f"/flows/{quote(rng.choice(flows)['flow'])}?as_of={as_of}" for _ in range(k)],
            )
            traces = server_traces(data_dir, k)
            if traces:
                page("a trace", [f"/traces/{t}" for t in traces])
            page("replenishments", [f"/replenishments?as_of={as_of}"] * k)
            page(
                "replenishments p.3",
                [f"/replenishments?as_of={as_of}&priority=urgent&page=3"] * k,
            )
            page("replenishments item", [f"/replenishments?as_of={as_of}&item=ndc-1"] * k)
            page("rules", ["/rules"] * k)
            page("alerts", ["/alerts"] * k)
            page("kpis", [f"/kpis?as_of={as_of}"] * k)
            page("audit", ["/audit"] * k)
            page("audit as of", [f"/audit?as_of={persisted}&range=24h"] * k)
    finally:
        server.stop()
        if tmp is not None:
            server.cleanup()
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
