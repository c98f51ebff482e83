"""What every `rxsight` command shares: the store options, the settings they give, the token."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rxsight.config import Settings, load_settings

DEFAULT_URL = "http://127.0.0.1:8000"


def common_options(p: argparse.ArgumentParser) -> None:
    """--data-dir, --config and --dsn: where the store and the configuration are."""
    p.add_argument("--data-dir", help="data directory (default .rxsight, RXSIGHT_DATA_DIR)")
    p.add_argument("--config", help="YAML configuration file (RXSIGHT_CONFIG)")
    p.add_argument(
        "--dsn",
        help="ClickHouse DSN: chdb://DIR or http(s)://user:pass@host:8123/db "
        "(RXSIGHT_CLICKHOUSE_DSN)",
    )


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    return load_settings(data_dir=args.data_dir, config_path=args.config, dsn=args.dsn, **extra)


def token_from(args: argparse.Namespace) -> str | None:
    return args.token or os.environ.get("RXSIGHT_ADMIN_TOKEN")


def server_options(p: argparse.ArgumentParser) -> None:
    """--url and --token of a running rxsight."""
    p.add_argument("--url", default=os.environ.get("RXSIGHT_URL", DEFAULT_URL))
    p.add_argument("--token", help="admin or operator token (default RXSIGHT_ADMIN_TOKEN)")
