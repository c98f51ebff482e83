"""`rxsight masterdata load`: crosswalk files into a running rxsight (--url), or into the data
directory or DSN when no server holds it."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from rxsight.cli.args import common_options, settings_from, token_from


def cmd_masterdata_load(args: argparse.Namespace) -> int:
    from rules.masterdata.command import load_files

    @contextlib.contextmanager
    def open_store() -> Iterator[Any]:
        from rxsight.app import lock_data_dir, migrate_store
        from rxsight.store import Store

        settings = settings_from(args)
        lock = lock_data_dir(settings.data_dir) if settings.embedded else None
        store = Store(settings.dsn, settings.database, settings.cluster)
        try:
            migrate_store(store)
            yield store
        finally:
            store.close()
            if lock:
                lock.close()

    args.token = token_from(args)
    return load_files(args, open_store)


def register(sub: Any) -> None:
    """Add these commands to the `rxsight` parser's subcommands."""
    p = sub.add_parser("masterdata", help="the master data crosswalk")
    msub = p.add_subparsers(dest="masterdata_command", required=True)
    m = msub.add_parser(
        "load",
        help="load crosswalk files (CSV or YAML, one kind each); bad rows named, good rows load",
        description="Loads into a running rxsight with --url, else into the data directory or "
        "DSN (when no server holds it). Exit 1 when a row was rejected, 2 when a file was not "
        "loaded.",
    )
    common_options(m)
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
