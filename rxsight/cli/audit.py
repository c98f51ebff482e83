"""Commands of the security officer: hash a console password, verify the audit log's chain."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rxsight.cli.args import common_options, settings_from, token_from


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
                args.url, "GET", "/api/audit/verify", token=token_from(args), params=params
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
    settings = settings_from(args)
    lock = lock_data_dir(settings.data_dir) if settings.embedded else None
    store = Store(settings.dsn, settings.database, settings.cluster)
    try:
        return audit.verify(store, args.anchor)
    finally:
        store.close()
        if lock:
            lock.close()


def register(sub: Any) -> None:
    """Add these commands to the `rxsight` parser's subcommands."""
    p = sub.add_parser(
        "hash-password",
        help="hash a console password for the users: config (asks for it, or reads stdin)",
    )
    p.add_argument("password_on_command_line", nargs="?", metavar="-", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_hash_password)

    p = sub.add_parser("audit", help="the audit log")
    asub = p.add_subparsers(dest="audit_command", required=True)
    a = asub.add_parser("verify", help="check the audit log's hash chain (exit 1 if broken)")
    common_options(a)
    a.add_argument("--anchor", help="SEQ:HASH from an earlier verify: check it is still there")
    a.add_argument(
        "--url", help="have this running rxsight check (when it holds the data directory)"
    )
    a.add_argument("--token", help="admin token for --url (default RXSIGHT_ADMIN_TOKEN)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_audit_verify)
