"""`python -m simulator`: drive any rxsight with simulated health-system traffic."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime

from rxsight.timeutil import parse_rfc3339
from simulator.config import Faults, SimConfig
from simulator.runner import default_grpc_endpoint, run


def _fault(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--fault takes NAME=RATE, got {text!r}")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--fault {name}: {value!r} is not a number") from None


def _instant(text: str) -> datetime:
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--anchor: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Send a simulated health system's spans and business events to rxsight: "
        "back-fill the last days, then run live.",
    )
    ap.add_argument("--url", default=os.environ.get("RXSIGHT_URL", "http://127.0.0.1:8000"))
    ap.add_argument(
        "--grpc",
        default=None,
        help="OTLP/gRPC host:port (default: the URL's host, port 4317); 'off' = HTTP only",
    )
    ap.add_argument("--token", default=os.environ.get("RXSIGHT_INGEST_TOKEN"))
    ap.add_argument("--rate", type=float, default=2.0, help="new transactions per second, live")
    ap.add_argument(
        "--duration", type=float, default=None, help="seconds of live traffic (default: forever)"
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--backfill-days", type=float, default=7.0)
    ap.add_argument(
        "--backfill-per-day", type=float, default=150.0, help="back-filled requests per day"
    )
    ap.add_argument("--anchor", type=_instant, help="simulated 'now' (RFC 3339): reproducible runs")
    ap.add_argument("--outage-at", type=float, default=-8.0, help="ERP outage start, minutes")
    ap.add_argument("--outage-minutes", type=float, default=20.0, help="0 = no live outage")
    ap.add_argument("--silent-flow", default="inventory-sync", help="'none' = no silent flow")
    ap.add_argument("--silent-hours", type=float, default=3.0)
    ap.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="NAME=RATE",
        help="override a fault rate: " + ", ".join(Faults.names()),
    )
    ap.add_argument(
        "--number-base",
        type=int,
        default=0,
        help="offset for PO, receipt, invoice and request numbers: give each run against "
        "the same rxsight its own (e.g. 1000000), or their business keys collide",
    )
    ap.add_argument(
        "--crosswalk",
        action="store_true",
        help="load the world's master data crosswalk first (needs --admin-token); the EDI "
        "suppliers then bill by catalog number, now and then one the crosswalk lacks",
    )
    ap.add_argument("--admin-token", default=os.environ.get("RXSIGHT_ADMIN_TOKEN"))
    ap.add_argument("--quiet", action="store_true")
    return ap


def config_from_args(args: argparse.Namespace) -> SimConfig:
    grpc = None if args.grpc == "off" else args.grpc or default_grpc_endpoint(args.url)
    return SimConfig(
        url=args.url,
        grpc_endpoint=grpc,
        token=args.token,
        seed=args.seed,
        rate=args.rate,
        duration=args.duration,
        backfill_days=args.backfill_days,
        backfill_per_day=args.backfill_per_day,
        anchor=args.anchor,
        outage_at_min=args.outage_at,
        outage_minutes=args.outage_minutes,
        silent_flow=None if args.silent_flow == "none" else args.silent_flow,
        silent_hours=args.silent_hours,
        faults=Faults().with_overrides(dict(args.fault)),
        number_base=args.number_base,
        crosswalk_token=args.admin_token if args.crosswalk else None,
        verbose=not args.quiet,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)
    except ValueError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    if args.crosswalk and not args.admin_token:
        print(
            "simulator: --crosswalk needs --admin-token (or RXSIGHT_ADMIN_TOKEN)", file=sys.stderr
        )
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    report = run(cfg, stop)
    return 1 if report.rejected else 0


if __name__ == "__main__":
    sys.exit(main())
