"""Store: thread-local clickhouse-connect clients on one DSN and database; migrations."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver import binding
from clickhouse_connect.driver.client import Client

from rxsight.malloc import is_out_of_memory
from rxsight.store.arrow import JoinedStreams, ipc_bytes, streams_table
from rxsight.store.cluster import render

log = logging.getLogger(__name__)

_BIND_ESCAPES = str.maketrans({c: binding.BS + c for c in binding.must_escape})


def escape_bound_string(value: str) -> str:
    """clickhouse-connect's escaping of a bound string, through str.translate."""
    return value.translate(_BIND_ESCAPES)


# The driver escapes every bound string one character at a time in Python: 25 ms for the
# 6,700 correlation IDs of one ingest batch's duplicate check, on the writer's only thread.
# Same characters, same escapes, done in C.
binding.escape_str = escape_bound_string


# A ClickHouse server takes bound parameters as HTTP form fields, each capped at 128 KiB
# (http_max_field_value_size); this leaves room for the field's name and encoding.
SERVER_BOUND_PARAMETER_BYTES = 120 << 10


def _dedup_settings(dedup_token: str | None) -> dict[str, str] | None:
    return {"insert_deduplication_token": dedup_token} if dedup_token else None


class StoreUnavailable(Exception):
    """ClickHouse could not be reached or refused the operation."""


class Store:
    """The only way the stages reach ClickHouse.

    chDB allows one data directory per process, shared by every client on it; a server takes
    many clients. Either way each thread gets its own client, because a clickhouse-connect
    client is not safe for concurrent queries (HTTP sessions, chDB connection handles)."""

    def __init__(self, dsn: str, database: str = "rxsight", cluster: str | None = None) -> None:
        self.dsn = dsn
        self.database = database
        # A ClickHouse cluster's name: DDL runs ON CLUSTER, tables are replicated + Distributed
        # (rxsight/store/cluster.py).
        self.cluster = cluster
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self._closed = False
        boot = self._connect(database=None)
        on_cluster = f" ON CLUSTER '{cluster}'" if cluster else ""
        boot.command(f"CREATE DATABASE IF NOT EXISTS `{_ident(database)}`{on_cluster}")

    @property
    def embedded(self) -> bool:
        return self.dsn.startswith("chdb:")

    @property
    def bound_parameter_bytes(self) -> int | None:
        """The largest value one bound parameter may have, in UTF-8 bytes; None when there is
        no limit (chDB binds parameters in-process)."""
        return None if self.embedded else SERVER_BOUND_PARAMETER_BYTES

    def _connect(self, database: str | None) -> Client:
        try:
            if self.embedded:
                client = clickhouse_connect.get_client(dsn=self.dsn, database=database)
            else:
                client = clickhouse_connect.get_client(
                    dsn=self.dsn,
                    database=database,
                    autogenerate_session_id=False,
                    connect_timeout=5,
                    send_receive_timeout=60,
                )
        except Exception as exc:  # noqa: BLE001 - the driver raises many kinds
            raise StoreUnavailable(f"cannot open {self._redacted_dsn()}: {exc}") from exc
        with self._lock:
            self._clients.append(client)
        return client

    def _redacted_dsn(self) -> str:
        head, sep, tail = self.dsn.partition("@")
        if not sep:
            return self.dsn
        scheme, _, _ = head.partition("://")
        return f"{scheme}://***@{tail}"

    @property
    def client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            if self._closed:
                raise StoreUnavailable("store is closed")
            client = self._connect(self.database)
            self._local.client = client
        return client

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        names, rows = self.query_named_rows(sql, params)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def query_named_rows(
        self,
        sql: str,
        params: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> tuple[tuple[str, ...], list[tuple]]:
        """Column names and row tuples: for callers that read 100,000s of rows, where a dict
        per row would cost more than using the row. `settings` are ClickHouse query settings."""
        result = self._run(lambda c: c.query(sql, parameters=params or {}, settings=settings))
        return tuple(result.column_names), result.result_rows

    def query_rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        return self._run(lambda c: c.query(sql, parameters=params or {})).result_rows

    def query_value(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        rows = self.query_rows(sql, params)
        return rows[0][0] if rows else None

    def command(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        result = None
        for statement in render(sql, self.cluster):
            result = self._run(lambda c, s=statement: c.command(s, parameters=params or {}))
        return result

    def insert_arrow(self, table: str, data: pa.Table, *, dedup_token: str | None = None) -> None:
        if self.embedded:
            self.insert_arrow_streams(table, [ipc_bytes(data)], dedup_token=dedup_token)
        elif data.num_rows:
            settings = _dedup_settings(dedup_token)
            self._run(lambda c: c.insert_arrow(table, data, settings=settings))

    def insert_arrow_streams(
        self,
        table: str,
        streams: Sequence[bytes | memoryview],
        *,
        dedup_token: str | None = None,
    ) -> int:
        """Arrow IPC streams of one schema, inserted as one; returns the rows inserted.

        For chDB the driver copies views of the streams into the file chDB reads. A server
        gets a table, which the driver compresses as the client is set to, in a body it can
        send again when a request fails (a stream read once is spent)."""
        if not self.embedded:
            data = streams_table(streams)
            self.insert_arrow(table, data, dedup_token=dedup_token)
            return data.num_rows
        joined = JoinedStreams(streams)
        if joined.num_rows:
            settings = _dedup_settings(dedup_token)
            self._run(
                lambda c: c.raw_insert(
                    table, joined.column_names, joined, settings=settings, fmt="ArrowStream"
                )
            )
        return joined.num_rows

    def insert_rows(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        *,
        dedup_token: str | None = None,
    ) -> None:
        if not rows:
            return
        settings = _dedup_settings(dedup_token)
        self._run(
            lambda c: c.insert(table, rows, column_names=list(column_names), settings=settings)
        )

    def _run(self, op: Any) -> Any:
        try:
            return op(self.client)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if _is_connection_error(exc):
                # A dead HTTP connection: drop this thread's client so the next call reconnects.
                self._local.client = None
                raise StoreUnavailable(str(exc)) from exc
            if is_out_of_memory(exc):
                # Passes with the pressure: callers retry or refuse as retryable.
                raise StoreUnavailable(f"out of memory: {exc}") from exc
            raise

    def ping(self) -> bool:
        try:
            return self.query_value("SELECT 1") == 1
        except Exception:  # noqa: BLE001 - readiness reports any failure as not ready
            return False

    def close(self) -> None:
        self._closed = True
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(Exception):  # closing is best effort
                client.close()

    # --------------------------------------------------------------- migrations
    def apply_retention(self, traces_days: int, events_days: int) -> None:
        """Each table's TTL from the configured retention of the data it holds or derives
        from, so a derived table never forgets sooner (or keeps longer) than its source."""
        # TTL takes no bound parameters; the values are validated integers from the config.
        days = {"traces": int(traces_days), "events": int(events_days)}
        for table, (source, expression) in RETENTION.items():
            self.command(
                f"ALTER TABLE {table} MODIFY TTL {expression} + INTERVAL {days[source]} DAY"
            )


# Every table with a TTL: the retention class it follows and the time its TTL counts from.
# Tables derived from spans (the trace-ID index, the rules' span facts) follow the traces;
# the console's business-key index and names (migrations 031, 096) and the rules' event
# facts follow the events. (The rules' key maps, rules_po_by_correlation and
# rules_pos_by_invoice, hold identifiers without a time: they are kept; so is the governance
# family's hourly inventory of flows and source systems, governance_flow_hours and
# governance_source_hours: names, counts and times for the portfolio review, 400 days by
# their own TTL, migration 065.)
RETENTION: dict[str, tuple[str, str]] = {
    "otel_traces": ("traces", "toDateTime(Timestamp)"),
    "otel_traces_trace_id_ts": ("traces", "toDate(Start)"),
    "rules_spans": ("traces", "toDateTime(Timestamp)"),
    "rules_flow_hours": ("traces", "hour"),
    "governance_spans": ("traces", "toDateTime(Timestamp)"),
    **{
        table: ("events", "toDateTime(occurred_at)")
        for table in (
            "business_events",
            "console_keys",
            "console_names",
            "rules_requests",
            "rules_po_lines",
            "rules_po_acks",
            "rules_receipt_lines",
            "rules_receipts",
            "rules_po_invoice_lines",
            "rules_invoice_matches",
            "rules_item_documents",
            "rules_po_supplier_steps",
            "rules_receipt_bookings",
            "rules_journals",
            "governance_events",
            "rules_identifiers",
        )
    },
    # The KPI facts kept per PO and request (metrics stage): gone with the entity's latest fact.
    "kpi_po_facts": ("events", "toDateTime(last_at)"),
    "kpi_request_facts": ("events", "toDateTime(last_at)"),
}


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database name {name!r} must be letters, digits and underscores")
    return name


def _is_connection_error(exc: Exception) -> bool:
    from clickhouse_connect.driver.exceptions import OperationalError

    return isinstance(exc, OperationalError | ConnectionError | TimeoutError)
