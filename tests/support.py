"""Test support: a real `rxsight serve` subprocess on a loopback port with its own data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, TypeVar

from rxsight.store import Store
from testkit.server import (
    REPO,
    Server,
    free_port,
    kill_process,
    rxsight_cli,
    start_listening,
    stop_process,
)

__all__ = [
    "REPO",
    "ClickHouseHttp",
    "Server",
    "copy_database",
    "free_port",
    "instants_to_check",
    "otlp_json_spans",
    "rxsight_cli",
    "stop_process",
    "store_events",
]

Instant = TypeVar("Instant")

SHARED = Path(os.environ.get("RXSIGHT_SHARED_DIR", REPO.parent / "shared"))
CONFORMANCE = SHARED / "conformance"


def instants_to_check(store: Any, instants: list[Instant]) -> list[Instant]:
    """The instants a store test checks at, of those it could: every one on embedded chDB and on
    a real ClickHouse server (RXSIGHT_TEST_CLICKHOUSE_DSN); over the chDB-backed endpoint of
    tests/clickhouse_http.py, the first, a middle one and the last. That endpoint runs the same
    engine as the chDB run, so what it adds (HTTP, bound parameters) shows at any instant,
    while the exactness checks at every instant cost minutes per test over it."""
    if store.embedded or os.environ.get("RXSIGHT_TEST_CLICKHOUSE_DSN"):
        return list(instants)
    return [instants[i] for i in sorted({0, len(instants) // 2, len(instants) - 1}) if instants]


def store_events(store: Any, *events: dict[str, Any]) -> None:
    """Events written to a Store's business_events as the collector writes them (its views fill
    the rules' tables). Each gives `at` (a datetime) for occurred_at; event_id (unless given)
    and source_system are made up."""
    from collector.events import events_table
    from rxsight.event_rows import event_row

    rows = [
        event_row(
            {
                "event_id": str(uuid.uuid4()),
                "source_system": "test",
                **{k: v for k, v in e.items() if k != "at"},
                "occurred_at": e["at"].isoformat(),
            }
        )
        for e in events
    ]
    store.insert_arrow("business_events", events_table(rows))


class ClickHouseHttp:
    """tests/clickhouse_http.py in a subprocess: a ClickHouse HTTP endpoint over its own chDB
    directory, on a port it keeps across restarts (an outage is stop() ... start())."""

    def __init__(self, data_dir: Path, password: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.password = password
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "clickhouse-http.log"

    def dsn(self, database: str | None = None) -> str:
        """The DSN rxsight takes: http://user:password@host:port[/database]."""
        auth = f"default:{self.password}@" if self.password else ""
        return f"http://{auth}127.0.0.1:{self.port}" + (f"/{database}" if database else "")

    def start(self, timeout: float = 60) -> ClickHouseHttp:
        cmd = [
            sys.executable,
            "-m",
            "tests.clickhouse_http",
            "--path",
            str(self.data_dir / "chdb"),
            "--port",
            str(self.port),
        ]
        if self.password:
            cmd += ["--password", self.password]
        self.proc = start_listening(
            cmd, self.log_path, f"http://127.0.0.1:{self.port}/ping", timeout
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        """The endpoint goes away at once, as a crashed or unplugged server does."""
        kill_process(self.proc)
        self.proc = None


def otlp_json_spans(correlation_id: str, n: int) -> dict:
    """An OTLP/JSON export request: n distinct spans of service `erp`, all carrying the
    correlation ID (what a client library sends for one batch)."""
    now = time.time_ns()
    spans = [
        {
            "traceId": uuid.uuid4().hex,
            "spanId": uuid.uuid4().hex[:16],
            "name": "sync",
            "startTimeUnixNano": str(now + i),
            "endTimeUnixNano": str(now + i + 5000),
            "attributes": [{"key": "correlation.id", "value": {"stringValue": correlation_id}}],
        }
        for i in range(n)
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "erp"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}


# Objects a view or a materialized view reads must exist before it is created.
_VIEWS = ("View", "MaterializedView")


def copy_database(source: Store, database: str) -> Store:
    """A new database on the source's server holding what the source holds: its tables,
    views and materialized views, defined alike, and its rows. For a database just migrated,
    about ten times faster than migrating another (chDB applies each migration's statements
    one by one)."""
    objects = source.query(
        "SELECT name, engine, create_table_query, total_rows FROM system.tables "
        "WHERE database = {db:String} ORDER BY metadata_modification_time, name",
        {"db": source.database},
    )
    target = Store(source.dsn, database)
    # The source's name appears in its definitions only as a qualifier (`db.table`).
    qualifier = f"{source.database}."
    tables = [o for o in objects if o["engine"] not in _VIEWS]
    for o in tables:
        target.command(o["create_table_query"].replace(qualifier, f"{database}."))
    for o in tables:
        if o["total_rows"]:
            target.command(
                f"INSERT INTO {database}.{o['name']} SELECT * FROM {qualifier}{o['name']}"
            )
    pending = [o for o in objects if o["engine"] in _VIEWS]
    while pending:
        failed = []
        for o in pending:
            try:
                target.command(o["create_table_query"].replace(qualifier, f"{database}."))
            except Exception:  # noqa: BLE001 - reads an object not created yet: the next round
                failed.append(o)
        if len(failed) == len(pending):
            raise RuntimeError(f"cannot copy {[o['name'] for o in failed]} of {source.database}")
        pending = failed
    return target
