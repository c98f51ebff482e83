"""Commands that ask a running rxsight through its HTTP API: rules evaluate, exceptions,
kpis export, alerts routes test (which may also read the config file)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rxsight.cli.args import common_options, server_options, settings_from, token_from


def cmd_rules_evaluate(args: argparse.Namespace) -> int:
    from rxsight.client import ApiError, call

    params = {k: v for k, v in {"as_of": args.as_of, "persist": "false"}.items() if v}
    try:
        resp = call(
            args.url, "POST", "/api/rules/evaluate", token=token_from(args), json={}, params=params
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
        resp = call(args.url, "POST", "/api/exceptions/bulk", token=token_from(args), json=body)
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
        resp = call(args.url, "GET", "/api/kpis/export", token=token_from(args), params=params)
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
                token=token_from(args),
                json={"labels": labels},
            )
        except ApiError as exc:
            print(f"alerts routes test: {exc}", file=sys.stderr)
            return 2
        routes = [(r["receiver"], r["groupKey"]) for r in resp.json()["routes"]]
    else:
        from alerts.config import from_settings
        from alerts.route import compile_tree, routes_test

        cfg = from_settings(settings_from(args))
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


def register(sub: Any) -> None:
    """Add these commands to the `rxsight` parser's subcommands."""
    p = sub.add_parser("rules", help="rules")
    rsub = p.add_subparsers(dest="rules_command", required=True)
    r = rsub.add_parser("evaluate", help="evaluate every rule as of an instant (no state change)")
    r.add_argument("--as-of", help="RFC 3339 instant (default now)")
    server_options(r)
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_rules_evaluate)

    p = sub.add_parser("exceptions", help="act on exceptions of a running rxsight")
    p.add_argument("action", choices=["ack", "assign", "comment", "resolve", "reopen"])
    p.add_argument("ids", nargs="+", metavar="EXCEPTION_ID")
    p.add_argument("--assignee", help="a configured user or team (assign)")
    p.add_argument("--comment", help="a note (needed to comment and resolve)")
    server_options(p)
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
    server_options(k)
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
    common_options(t)
    t.add_argument("labels", nargs="*", metavar="LABEL=VALUE", help='e.g. site="mercy-1"')
    t.add_argument("--url", help="ask this running rxsight instead of reading --config")
    t.add_argument("--token")
    t.add_argument("--group-keys", action="store_true", help="print each group key too")
    t.add_argument(
        "--verify-receivers", metavar="A,B", help="exit 1 unless exactly these receivers match"
    )
    t.set_defaults(func=cmd_alerts_routes_test)
