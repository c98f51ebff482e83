"""The `rxsight` command: serve, demo, migrate, rules evaluate, kpis export, alerts routes test,
config check, audit verify, masterdata load, hash-password."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rxsight import logs
from rxsight.cli import api as cli_api
from rxsight.cli import audit as cli_audit
from rxsight.cli import masterdata as cli_masterdata
from rxsight.cli.args import common_options, settings_from
from rxsight.config import ConfigError, Settings


def cmd_serve(args: argparse.Namespace) -> int:
    from rxsight.malloc import (
        arrow_uses_system_allocator,
        embedded_engine_returns_freed_pages,
        few_arenas,
        return_large_buffers,
    )

    # Before the app's modules load pyarrow and chDB: both read their allocator settings once.
    return_large_buffers()
    few_arenas()
    arrow_uses_system_allocator()
    embedded_engine_returns_freed_pages()
    import uvicorn

    from rxsight.app import create_app

    settings = settings_from(args, host=args.host, port=args.port, grpc_port=args.grpc_port)
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

    settings = settings_from(args)
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
    settings = settings_from(args)
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


def cmd_demo(args: argparse.Namespace) -> int:
    from simulator.demo import run_demo

    logs.configure("WARNING")
    return run_demo(
        settings_from(args, host=args.host, port=args.port, grpc_port=args.grpc_port),
        rate=args.rate,
        seed=args.seed,
        backfill_days=args.backfill_days,
    )


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
        common_options(p)
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
    common_options(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("config", help="configuration")
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser("check", help="validate the configuration file")
    common_options(c)
    c.set_defaults(func=cmd_config_check)

    cli_api.register(sub)
    cli_audit.register(sub)
    cli_masterdata.register(sub)

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
