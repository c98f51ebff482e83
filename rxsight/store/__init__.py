"""The ClickHouse store: one clickhouse-connect client API for embedded chDB and a server."""

from rxsight.store.client import Store, StoreUnavailable
from rxsight.store.sql import SqlFiles

__all__ = ["SqlFiles", "Store", "StoreUnavailable"]
