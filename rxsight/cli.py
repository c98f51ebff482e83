"""The `rxsight` command: serve, demo, migrate, rules evaluate, kpis export, alerts routes test,
config check, audit verify, masterdata load, hash-password."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rxsight import logs
from rxsight.config import ConfigError, Settings, load_settings


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="data directory (default .rxsight, RXSIGHT_DATA_DIR)")
    p.add_argument("--config", help="YAML configuration file (RXSIGHT_CONFIG)")
    p.add_argument(
        "--dsn",
        help="ClickHouse DSN: chdb://DIR or http(s)://user:pass@host:8123/db "
        "(RXSIGHT_CLICKHOUSE_DSN)",
    )


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return load_settings(data_dir=args.data_dir, config_path=args.config, dsn=args.dsn, **extra)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from rxsight.app import create_app
    from rxsight.malloc import embedded_engine_returns_freed_pages, return_large_buffers

    return_large_buffers()
    embedded_engine_returns_freed_pages()
    settings = _settings(args, host=args.host, port=args.port, grpc_port=args.grpc_port)
    logs.configure(args.log_level.upper())
    print(
        f"rxsight serving on http://{settings.host}:{settings.port}/ "
        f"(store {settings.dsn.split('@')[-1]})",
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        access_log=False,
        log_config=None,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from rxsight.app import lock_data_dir, migrate_store
    from rxsight.store import Store

    settings = _settings(args)
    lock = lock_data_dir(settings.data_dir) if settings.embedded else None
    store = Store(settings.dsn, settings.database, settings.cluster)
    try:
        applied = migrate_store(store)
    finally:
        store.close()
        if lock:
            lock.close()
    print("applied: " + (", ".join(applied) if applied else "nothing, schema is current"))
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    problems: list[str] = []
    for stage, check in _stage_config_checks():
        problems += [f"{stage}: {p}" for p in check(settings)]
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    print(f"{settings.config_path or '(no config file)'}: OK")
    return 0


def _stage_config_checks() -> list[tuple[str, Callable[[Settings], list[str]]]]:
    import alerts
    import metrics
    import rules

    return [
        (m.__name__, m.check_config) for m in (rules, alerts, metrics) if hasattr(m, "check_config")
    ]


def _token(args: argparse.Namespace) -> str | None:
    return args.token or os.environ.get("RXSIGHT_ADMIN_TOKEN")


def cmd_rules_evaluate(args: argparse.Namespace) -> int:
    from rxsight.client import ApiError, call

    params = {k: v for k, v in {"as_of": args.as_of, "persist": "false"}.items() if v}
    try:
        resp = call(
            args.url, "POST", "/api/rules/evaluate", token=_token(args), json={}, params=params
        )
    except ApiError as exc:
        print(f"rules evaluate: {exc}", file=sys.stderr)
        return 2
    result = resp.json()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    findings = result.get("findings", [])
    print(f"as of {result.get('as_of')}: {len(findings)} findings")
    for f in findings:
        entity = (
            f.get("po_number")
            or f.get("invoice_number")
            or f.get("receipt_id")
            or f.get("flow")
            or f.get("correlation_id")
        )
        print(f"  {f['family']:<20} {f['reason']:<18} {entity:<28} since {f.get('since')}")
    return 0


def cmd_exceptions_act(args: argparse.Namespace) -> int:
    """One action on exceptions through the API's bulk route: the server authorizes, checks
    the assignee and audits, as for the console."""
    from rxsight.client import ApiError, call

    body = {"exception_ids": args.ids, "action": args.action}
    body |= {k: v for k, v in (("comment", args.comment), ("assignee", args.assignee)) if v}
    try:
        resp = call(args.url, "POST", "/api/exceptions/bulk", token=_token(args), json=body)
    except ApiError as exc:
        print(f"exceptions {args.action}: {exc}", file=sys.stderr)
        return 2
    results = resp.json()["results"]
    for r in results:
        print(f"{r['exception_id']}\t{r['status'] if r['ok'] else 'not changed: ' + r['error']}")
    return 0 if all(r["ok"] for r in results) else 1


def cmd_kpis_export(args: argparse.Namespace) -> int:
    """A KPI report from a running rxsight, written whole to --out (or text to stdout)."""
    from metrics.exports import write_atomically
    from rxsight.client import ApiError, call

    if args.out is None and args.format in ("xlsx", "parquet"):
        print(f"kpis export: --format {args.format} is binary; give --out FILE", file=sys.stderr)
        return 2
    params = {"period": args.period, "format": args.format}
    params.update({k: v for k, v in {"at": args.at, "as_of": args.as_of}.items() if v})
    try:
        resp = call(args.url, "GET", "/api/kpis/export", token=_token(args), params=params)
    except ApiError as exc:
        print(f"kpis export: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        sys.stdout.buffer.write(resp.content)
        return 0
    write_atomically(Path(args.out), resp.content)
    print(f"wrote {args.out} ({len(resp.content)} bytes)", file=sys.stderr)
    return 0


def cmd_alerts_routes_test(args: argparse.Namespace) -> int:
    """amtool's `config routes test`: from the config file, or from a running rxsight (--url)."""
    from alerts.matchers import MatcherError, parse_matcher

    labels: dict[str, str] = {}
    for text in args.labels:
        try:
            m = parse_matcher(text)
        except MatcherError as exc:
            print(f"alerts routes test: {text!r}: {exc}", file=sys.stderr)
            return 2
        if m.op != "=":
            print(f"alerts routes test: {text!r}: labels are label=value pairs", file=sys.stderr)
            return 2
        labels[m.name] = m.value
    if args.url:
        from rxsight.client import ApiError, call

        try:
            resp = call(
                args.url,
                "POST",
                "/api/alerts/routes/test",
                token=_token(args),
                json={"labels": labels},
            )
        except ApiError as exc:
            print(f"alerts routes test: {exc}", file=sys.stderr)
            return 2
        routes = [(r["receiver"], r["groupKey"]) for r in resp.json()["routes"]]
    else:
        from alerts.config import from_settings
        from alerts.route import compile_tree, routes_test

        cfg = from_settings(_settings(args))
        routes = [(m.receiver, m.group_key) for m in routes_test(compile_tree(cfg), labels)]
    if args.group_keys:
        for receiver, key in routes:
            print(f"{receiver}\t{key}")
    else:
        print(",".join(r for r, _ in routes))
    if args.verify_receivers is not None:
        want = [r for r in args.verify_receivers.split(",") if r]
        if want != [r for r, _ in routes]:
            print(f"WARNING: expected receivers {want!r}", file=sys.stderr)
            return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from simulator.demo import run_demo

    logs.configure("WARNING")
    return run_demo(
        _settings(args, host=args.host, port=args.port, grpc_port=args.grpc_port),
        rate=args.rate,
        seed=args.seed,
        backfill_days=args.backfill_days,
    )


def cmd_hash_password(args: argparse.Namespace) -> int:
    import getpass

    from rxsight.passwords import hash_password

    if args.password_on_command_line is not None:
        # The command line is visible to every user (ps) and kept in shell history.
        print(
            "hash-password reads the password from a prompt or from stdin, never from the "
            "command line: run `rxsight hash-password` and type it, or pipe it in",
            file=sys.stderr,
        )
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Again: "):
            print("the two passwords differ; nothing hashed", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("an empty password cannot be used", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from rxsight.audit import Verification
    from rxsight.client import ApiError, call

    if args.url:
        params = {"anchor": args.anchor} if args.anchor else {}
        try:
            found = call(
                args.url, "GET", "/api/audit/verify", token=_token(args), params=params
            ).json()
        except ApiError as exc:
            print(f"audit verify: {exc}", file=sys.stderr)
            return 2
        result = Verification(
            entries=found["entries"],
            earlier_entries=found["earlier_entries"],
            head_seq=(found["head"] or {}).get("seq", 0),
            head_hash=(found["head"] or {}).get("hash", ""),
            problems=found["problems"],
        )
    else:
        result = _verify_store(args)
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    elif result.intact:
        earlier = f" (and {result.earlier_entries} sealed from before the chain)"
        print(
            f"audit log intact: {result.entries} entries{earlier if result.earlier_entries else ''}"
        )
        if result.anchor:
            print(f"anchor (keep it elsewhere; check it later with --anchor): {result.anchor}")
    else:
        for problem in result.problems:
            print(problem, file=sys.stderr)
        n = len(result.problems)
        print(f"audit log NOT intact: {n} problem{'s' if n != 1 else ''}", file=sys.stderr)
    return 0 if result.intact else 1


def _verify_store(args: argparse.Namespace) -> Any:
    from rxsight import audit
    from rxsight.app import lock_data_dir
    from rxsight.authz import Action, Principal, authorize
    from rxsight.store import Store

    decision = authorize(Principal.command_line(), Action.READ_AUDIT)
    if not decision:
        raise SystemExit(f"audit verify: {decision.reason}")
    settings = _settings(args)
    lock = lock_data_dir(settings.data_dir) if settings.embedded else None
    store = Store(settings.dsn, settings.database, settings.cluster)
    try:
        return audit.verify(store, args.anchor)
    finally:
        store.close()
        if lock:
            lock.close()


def cmd_masterdata_load(args: argparse.Namespace) -> int:
    from rules.masterdata.command import load_files

    @contextlib.contextmanager
    def open_store() -> Iterator[Any]:
        from rxsight.app import lock_data_dir, migrate_store
        from rxsight.store import Store

        settings = _settings(args)
        lock = lock_data_dir(settings.data_dir) if settings.embedded else None
        store = Store(settings.dsn, settings.database, settings.cluster)
        try:
            migrate_store(store)
            yield store
        finally:
            store.close()
            if lock:
                lock.close()

    args.token = _token(args)
    return load_files(args, open_store)


def cmd_bench(args: argparse.Namespace) -> int:
    import runpy

    script = Path(__file__).resolve().parent.parent / "bench" / f"{args.which}.py"
    if not script.exists():
        print(f"no benchmark {args.which!r} (bench/*.py)", file=sys.stderr)
        return 2
    sys.argv = [str(script), *args.rest]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rxsight", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)

    for name, func, helptext in (
        ("serve", cmd_serve, "run rxsight"),
        ("demo", cmd_demo, "run rxsight with simulated traffic"),
    ):
        p = sub.add_parser(name, help=helptext)
        _common(p)
        p.add_argument("--host", default=None)
        p.add_argument("--port", type=int, default=None)
        p.add_argument("--grpc-port", type=int, default=None, help="OTLP/gRPC port, 0 = off")
        p.add_argument("--log-level", default="info")
        if name == "demo":
            p.add_argument("--rate", type=float, default=2.0, help="transactions per second")
            p.add_argument("--seed", type=int, default=42)
            p.add_argument("--backfill-days", type=float, default=7.0)
        p.set_defaults(func=func)

    p = sub.add_parser("migrate", help="apply schema migrations")
    _common(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("config", help="configuration")
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser("check", help="validate the configuration file")
    _common(c)
    c.set_defaults(func=cmd_config_check)

    p = sub.add_parser("rules", help="rules")
    rsub = p.add_subparsers(dest="rules_command", required=True)
    r = rsub.add_parser("evaluate", help="evaluate every rule as of an instant (no state change)")
    r.add_argument("--as-of", help="RFC 3339 instant (default now)")
    r.add_argument("--url", default=os.environ.get("RXSIGHT_URL", "http://127.0.0.1:8000"))
    r.add_argument("--token")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_rules_evaluate)

    p = sub.add_parser("exceptions", help="act on exceptions of a running rxsight")
    p.add_argument("action", choices=["ack", "assign", "comment", "resolve", "reopen"])
    p.add_argument("ids", nargs="+", metavar="EXCEPTION_ID")
    p.add_argument("--assignee", help="a configured user or team (assign)")
    p.add_argument("--comment", help="a note (needed to comment and resolve)")
    p.add_argument("--url", default=os.environ.get("RXSIGHT_URL", "http://127.0.0.1:8000"))
    p.add_argument("--token")
    p.set_defaults(func=cmd_exceptions_act)

    p = sub.add_parser("kpis", help="KPIs")
    ksub = p.add_subparsers(dest="kpis_command", required=True)
    k = ksub.add_parser("export", help="a KPI report of a period beside the previous one")
    k.add_argument("--period", default="month", choices=["day", "week", "month"])
    k.add_argument(
        "--at", help="which period: 2026-11, 2026-W47, 2026-11-20 (default: the last ended)"
    )
    k.add_argument("--format", default="csv", choices=["xlsx", "csv", "parquet", "json"])
    k.add_argument("--out", help="file to write (atomically); text formats default to stdout")
    k.add_argument("--as-of", dest="as_of", help="RFC 3339 instant of the reading (default now)")
    k.add_argument("--url", default=os.environ.get("RXSIGHT_URL", "http://127.0.0.1:8000"))
    k.add_argument("--token")
    k.set_defaults(func=cmd_kpis_export)

    p = sub.add_parser("alerts", help="alerts")
    asub = p.add_subparsers(dest="alerts_command", required=True)
    a = asub.add_parser("routes", help="the routing tree")
    arsub = a.add_subparsers(dest="routes_command", required=True)
    t = arsub.add_parser(
        "test",
        help="which receivers a label set reaches (like amtool config routes test)",
        description="Prints the receivers, in order, comma-separated (--group-keys: one per "
        "line with the group key). Reads the routing tree from --config, or asks a running "
        "rxsight with --url.",
    )
    _common(t)
    t.add_argument("labels", nargs="*", metavar="LABEL=VALUE", help='e.g. site="mercy-1"')
    t.add_argument("--url", help="ask this running rxsight instead of reading --config")
    t.add_argument("--token")
    t.add_argument("--group-keys", action="store_true", help="print each group key too")
    t.add_argument(
        "--verify-receivers", metavar="A,B", help="exit 1 unless exactly these receivers match"
    )
    t.set_defaults(func=cmd_alerts_routes_test)

    p = sub.add_parser(
        "hash-password",
        help="hash a console password for the users: config (asks for it, or reads stdin)",
    )
    p.add_argument("password_on_command_line", nargs="?", metavar="-", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_hash_password)

    p = sub.add_parser("audit", help="the audit log")
    asub = p.add_subparsers(dest="audit_command", required=True)
    a = asub.add_parser("verify", help="check the audit log's hash chain (exit 1 if broken)")
    _common(a)
    a.add_argument("--anchor", help="SEQ:HASH from an earlier verify: check it is still there")
    a.add_argument(
        "--url", help="have this running rxsight check (when it holds the data directory)"
    )
    a.add_argument("--token", help="admin token for --url (default RXSIGHT_ADMIN_TOKEN)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("masterdata", help="the master data crosswalk")
    msub = p.add_subparsers(dest="masterdata_command", required=True)
    m = msub.add_parser(
        "load",
        help="load crosswalk files (CSV or YAML, one kind each); bad rows named, good rows load",
        description="Loads into a running rxsight with --url, else into the data directory or "
        "DSN (when no server holds it). Exit 1 when a row was rejected, 2 when a file was not "
        "loaded.",
    )
    _common(m)
    m.add_argument("files", nargs="+", metavar="FILE")
    m.add_argument(
        "--kind",
        choices=["items", "suppliers", "sites", "cost_centers"],
        help="default: from the file name (items.csv, suppliers.yaml, ...)",
    )
    m.add_argument("--dry-run", action="store_true", help="validate only; store nothing")
    m.add_argument("--url", help="load through this running rxsight's API")
    m.add_argument("--token", help="admin token for --url (default RXSIGHT_ADMIN_TOKEN)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_masterdata_load)

    p = sub.add_parser("bench", help="run a benchmark from bench/")
    p.add_argument("which", help="ingest, rules, console or alert_latency")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one clear line for known operator errors
        from rxsight.app import DataDirBusy

        if isinstance(exc, DataDirBusy):
            print(str(exc), file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
