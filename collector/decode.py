"""Request bodies to store-ready Arrow batches: runs in the decode worker processes."""

from __future__ import annotations

import gc
import importlib.abc
import io
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.events import BadLine, decode_rows, events_table, split_body
from collector.otlp import SpanAttributes, decode_trace_body, log_records_to_events, parse_request
from collector.phi import PhiScrubber
from rxsight.config import IngestConfig
from rxsight.model import EVENT_TYPES, EventLimits, EventRow, EventRowDecoder, event_row

SIGNAL_TABLES = {"spans": "otel_traces", "events": "business_events", "logs": "business_events"}


@dataclass
class Decoded:
    """What one request body became. Plain data, so it crosses a process boundary."""

    table: str
    payload: bytes | None = None  # Arrow IPC stream of the accepted rows
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # events: {"index", "error"}
    rejected_count: int = 0
    message: str = ""
    ignored: int = 0
    phi: dict[str, int] = field(default_factory=dict)


def ipc_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


class Decoder:
    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self.scrubber = PhiScrubber(config.phi)
        self.span_attributes = SpanAttributes(self.scrubber)
        self.event_types = EVENT_TYPES | frozenset(config.custom_event_types)
        self.limits = EventLimits(
            frozenset(config.custom_event_types), config.max_lines, config.max_attributes
        )
        self.rows = EventRowDecoder(self.limits)

    def decode(
        self,
        signal: str,
        body: bytes,
        content_type: str,
        source_systems: tuple[str, ...] = (),
        principal: str = "",
    ) -> Decoded:
        """Raises OtlpDecodeError / BodyError / UnsupportedMediaType for unreadable bodies."""
        before = Counter(self.scrubber.counts)
        if signal == "spans":
            out = self._spans(body, content_type)
        elif signal == "logs":
            out = self._logs(body, content_type, source_systems, principal)
        else:
            rows = decode_rows(body, content_type, self.rows)
            items = list(enumerate(rows if rows is not None else split_body(body, content_type)))
            out = self._events(items, source_systems, principal)
        out.phi = dict(self.scrubber.counts - before)
        return out

    def _spans(self, body: bytes, content_type: str) -> Decoded:
        batch = decode_trace_body(
            body, content_type, self.scrubber, self.config.correlation_keys, self.span_attributes
        )
        return Decoded(
            table="otel_traces",
            payload=ipc_bytes(batch.table) if batch.accepted else None,
            accepted=batch.accepted,
            rejected_count=batch.rejected.count,
            message=batch.rejected.summary,
        )

    def _logs(
        self, body: bytes, content_type: str, source_systems: tuple[str, ...], principal: str
    ) -> Decoded:
        request = parse_request(body, content_type, ExportLogsServiceRequest)
        items, ignored = log_records_to_events(
            request,  # type: ignore[arg-type]
            self.event_types.__contains__,
            self.scrubber,
        )
        out = self._events(items, source_systems, principal)
        out.ignored = ignored
        out.message = "; ".join(f"log record {r['index']}: {r['error']}" for r in out.rejected[:10])
        return out

    def _events(
        self, items: list[tuple[int, Any]], source_systems: tuple[str, ...], principal: str
    ) -> Decoded:
        out = Decoded(table="business_events")
        good: list[EventRow] = []
        for index, item in items:
            if isinstance(item, BadLine):
                out.rejected.append({"index": index, "error": item.error})
                continue
            try:
                row = item if type(item) is EventRow else event_row(item, self.limits)
            except ValueError as exc:
                out.rejected.append({"index": index, "error": str(exc)})
                continue
            if source_systems and row.source_system not in source_systems:
                out.rejected.append(
                    {
                        "index": index,
                        "error": f"source_system: token {principal!r} may not send events "
                        f"for {row.source_system!r}",
                    }
                )
                continue
            if row.attributes:
                row.attributes = self.scrubber.scrub(row.attributes)
            good.append(row)
        out.accepted = len(good)
        out.rejected_count = len(out.rejected)
        if good:
            out.payload = ipc_bytes(events_table(good))
        return out


# ---------------------------------------------------------------- worker process side
_WORKER: Decoder | None = None


class _WithoutPandas(importlib.abc.MetaPathFinder):
    """pyarrow imports pandas, when it is installed, at its first conversion of Python values,
    only to look for pandas types among them: 50 MiB in each worker, for values that are never
    pandas here. A worker finds no pandas, and pyarrow goes on without it."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"{fullname} is not used by decode workers", name=fullname)


def init_worker(config_json: str, server_pid: int) -> None:
    global _WORKER
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _WithoutPandas())
    _WORKER = Decoder(IngestConfig.model_validate_json(config_json))
    # What exists now (modules, schemas, the decoder) lives as long as the worker. Frozen,
    # it is left out of full collections, which the thousands of objects of each request
    # otherwise set off every few requests, each walking the whole heap again.
    gc.freeze()
    # A request makes thousands of short-lived objects, freed by reference counting when it is
    # done; the default threshold (700) would run a collection every few dozen events.
    gc.set_threshold(50_000, 10, 10)
    threading.Thread(target=_exit_with_server, args=(server_pid,), daemon=True).start()


def _exit_with_server(server_pid: int) -> None:
    # A server killed with -9 cannot stop its pool; its workers must not outlive it. The pid
    # comes from the server, not from getppid() here: a worker still importing when the
    # server died would already see init as its parent.
    while os.getppid() == server_pid:
        time.sleep(1.0)
    os._exit(0)


def worker_ready() -> bool:
    return _WORKER is not None


def decode_in_worker(
    signal: str, body: bytes, content_type: str, source_systems: tuple[str, ...], principal: str
) -> Decoded:
    assert _WORKER is not None, "init_worker did not run"
    return _WORKER.decode(signal, body, content_type, source_systems, principal)
