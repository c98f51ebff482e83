"""The PHI canary sweep (DESIGN 8): every kind of patient identifier, through every place a
request can carry text and every door (OTLP/HTTP protobuf and JSON, OTLP/gRPC, OTLP logs,
POST /v1/events); then, with the server stopped, every String column (Array and Map of
String too) of every table in the store, and the server's log, are searched: no hit."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from collector.decode import IDENTIFIER_FIELDS
from tests.support import Server

# Each canary: what is sent, and the token that must not be found afterwards. The tokens are
# distinct, so a hit names its kind.
CANARIES: dict[str, tuple[Any, str]] = {
    "ssn": ("SSN 987-65-4329", "987-65-4329"),
    "mrn_string": ("MRN 7Q4K9X2Z", "7Q4K9X2Z"),
    "mrn_integer": (55512349, "55512349"),
    "dob": ("DOB 1961-04-12", "1961-04-12"),
    "patient_name": ("Quillon Vantaggio", "Vantaggio"),
    "email": ("q.zephyrine@example.org", "zephyrine@"),
    "phone": ("(617) 555-0142", "555-0142"),
}
# A name or a bare number says nothing of itself: they are patient data where a key names a
# patient, and only there can they be found. Every other kind is found by its shape anywhere.
KEYED_ONLY = {"patient_name", "mrn_integer"}
PATIENT_KEYS = ("patient_name", "mrn", "patient_mrn", "patient.dob", "ssn", "birth_date")


def _value(raw: Any) -> AnyValue:
    if isinstance(raw, int):
        return AnyValue(int_value=raw)
    if isinstance(raw, dict):
        value = AnyValue()
        for key, child in raw.items():
            value.kvlist_value.values.add(key=key, value=_value(child))
        return value
    return AnyValue(string_value=raw)


def _attributes(target: Any, pairs: dict[str, Any]) -> None:
    for key, raw in pairs.items():
        target.add(key=key, value=_value(raw))


class Ledger:
    """Counts each (door, place, kind) sent."""

    def __init__(self) -> None:
        self.tried: list[tuple[str, str, str]] = []

    def note(self, door: str, place: str, kind: str) -> None:
        self.tried.append((door, place, kind))


def _keyed(kind: str) -> dict[str, Any]:
    raw = CANARIES[kind][0]
    nested = {"visit": {"patient": {"name": raw, "id": raw}, "mrn": raw}}
    return {**{f"{key}.{kind}": raw for key in PATIENT_KEYS}, f"context.{kind}": nested}


def _trace_request(door: str, ledger: Ledger) -> trace_service_pb2.ExportTraceServiceRequest:
    """One span per canary kind, the kind in every place of the span, its resource, scope,
    events and links; pattern kinds also as plain values."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    now = time.time_ns()
    for kind, (raw, _) in CANARIES.items():
        # Kinds found by key only go under keys; the free-text places get a neutral word.
        text = "neutral" if kind in KEYED_ONLY else str(raw)
        rs = request.resource_spans.add()
        _attributes(rs.resource.attributes, {"service.name": "canary-svc", **_keyed(kind)})
        ledger.note(door, "resource attribute keys", kind)
        ss = rs.scope_spans.add()
        ss.scope.name, ss.scope.version = f"lib {text}", f"v {text}"
        span = ss.spans.add(
            trace_id=uuid.uuid4().bytes,
            span_id=uuid.uuid4().bytes[:8],
            start_time_unix_nano=now,
            end_time_unix_nano=now + 1_000_000,
            name=f"adt {text}",
            trace_state=f"vendor={text}",
        )
        span.status.code, span.status.message = 2, f"failed for {text}"
        plain = {} if kind in KEYED_ONLY else {"note": f"see {text}", "http.url": f"/p?q={text}"}
        _attributes(span.attributes, {"correlation.id": f"canary-{door}-{kind}", **plain})
        _attributes(span.attributes, _keyed(kind))
        event = span.events.add(time_unix_nano=now, name=f"lookup {text}")
        _attributes(event.attributes, {**plain, **_keyed(kind)})
        link = span.links.add(
            trace_id=uuid.uuid4().bytes, span_id=uuid.uuid4().bytes[:8], trace_state=f"v={text}"
        )
        _attributes(link.attributes, {**plain, **_keyed(kind)})
        places = ["span attribute keys", "event attribute keys", "link attribute keys"]
        if kind not in KEYED_ONLY:
            places += [
                "scope name",
                "scope version",
                "span name",
                "TraceState",
                "status message",
                "span attribute values",
                "span event name",
                "event attribute values",
                "link TraceState",
                "link attribute values",
            ]
        for place in places:
            ledger.note(door, place, kind)
    return request


def _logs_request(ledger: Ledger) -> logs_service_pb2.ExportLogsServiceRequest:
    request = logs_service_pb2.ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    now = time.time_ns()
    for kind, (raw, _) in CANARIES.items():
        record = scope.log_records.add(time_unix_nano=now)
        record.body.string_value = f"patient {raw} admitted"
        pairs: dict[str, Any] = {
            "event.name": "po.acknowledged",
            "correlation.id": f"canary-logs-{kind}",
            "po_number": "PO-CANARY",
            "source_system": "erp",
            "status": "accepted",
            **_keyed(kind),
        }
        if kind not in KEYED_ONLY:
            pairs |= {"status": f"held {raw}", "note": f"see {raw}"}
        _attributes(record.attributes, pairs)
        ledger.note("logs", "log attribute keys", kind)
        ledger.note("logs", "log body", kind)
        if kind not in KEYED_ONLY:
            ledger.note("logs", "status field", kind)
            ledger.note("logs", "log attribute values", kind)
        if kind in KEYED_ONLY:
            continue
        # The same record with the canary in an identifier: refused, by field.
        bad = scope.log_records.add(time_unix_nano=now)
        _attributes(
            bad.attributes,
            {
                "event.name": "po.transmitted",
                "correlation.id": f"canary-logs-id-{kind}",
                "source_system": "erp",
                "po_number": str(raw),
            },
        )
        ledger.note("logs", "po_number", kind)
    return request


def _json_body(request: Any) -> bytes:
    """OTLP/JSON: IDs as hex, as the specification writes them (protobuf's JSON mapping
    would give base64)."""
    data = json_format.MessageToDict(request)

    def hexify(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    hexify(value)
        elif isinstance(node, list):
            for value in node:
                hexify(value)

    hexify(data)
    return json.dumps(data).encode()


IDENTIFIERS = (*IDENTIFIER_FIELDS, "lines.item_id")


def _business_events(ledger: Ledger) -> tuple[list[dict[str, Any]], list[str]]:
    """Events carrying each canary in free text (accepted, scrubbed) and, one per item, in
    each identifier field (each refused, naming the field)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    events, refused_fields = [], []

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": str(uuid.uuid4()),
            "event_type": "po.acknowledged",
            "occurred_at": now,
            "correlation_id": f"canary-events-{kind}",
            "source_system": "erp",
            "po_number": "PO-CANARY",
            "status": "accepted",
            "lines": [{"line_no": 1, "item_id": "NDC-1", "quantity": 1, "uom": "EA"}],
            **fields,
        }

    for kind, (raw, _) in CANARIES.items():
        text = str(raw)
        keyed = {
            k: str(v) if not isinstance(v, dict) else json.dumps(v) for k, v in _keyed(kind).items()
        }
        if kind in KEYED_ONLY:
            events.append(event(kind, attributes=keyed))
            ledger.note("events", "attribute keys", kind)
            continue
        events.append(
            event(
                kind,
                status=f"held {text}",
                lines=[{"line_no": 1, "item_id": "NDC-1", "quantity": 1, "uom": text[-14:]}],
                attributes={"note": f"see {text}", **keyed},
            )
        )
        for place in ("status", "lines.uom", "attribute values", "attribute keys"):
            ledger.note("events", place, kind)
        for field in IDENTIFIERS:
            if field == "lines.item_id":
                bad = event(kind, lines=[{"line_no": 1, "item_id": text, "quantity": 1}])
            else:
                bad = event(kind, **{field: text})
            events.append(bad)
            refused_fields.append(field.replace("lines.item_id", "lines.0.item_id"))
            ledger.note("events", field, kind)
    return events, refused_fields


SWEEP = r"""
import json, sys
from rxsight.store import Store
store = Store(sys.argv[1], "rxsight")
tokens = json.loads(sys.argv[2])
columns = store.query_rows(
    "SELECT c.table, c.name FROM system.columns AS c JOIN system.tables AS t"
    " ON t.database = c.database AND t.name = c.table"
    " WHERE c.database = 'rxsight' AND c.type LIKE '%String%'"
    " AND t.engine NOT IN ('MaterializedView', 'View')"
    # An EPHEMERAL column is an insert's input only: nothing is stored, and it cannot be read.
    " AND c.default_kind != 'EPHEMERAL'"
)
hits, rows = [], {}
for table, column in columns:
    rows[table] = store.query_value(f"SELECT count() FROM `{table}`")
    for kind, token in tokens.items():
        n = store.query_value(
            f"SELECT count() FROM `{table}`"
            f" WHERE positionCaseInsensitive(toString(`{column}`), {{t:String}}) > 0",
            {"t": token},
        )
        if n:
            hits.append([table, column, kind, n])
print(json.dumps({"columns": len(columns), "tables": rows, "hits": hits}))
"""


@pytest.fixture(scope="module")
def server():
    srv = Server({"retention": {"traces_days": 30}}).start()
    yield srv
    srv.cleanup()


def test_no_canary_reaches_the_store_or_the_log_through_any_place_or_door(server: Server):
    ledger = Ledger()
    bodies = {door: _trace_request(door, ledger) for door in ("protobuf", "json", "grpc")}
    status, _ = server.request(
        "POST",
        "/v1/traces",
        bodies["protobuf"].SerializeToString(),
        content_type="application/x-protobuf",
        token=None,
    )
    assert status == 200
    status, answer = server.request("POST", "/v1/traces", _json_body(bodies["json"]), token=None)
    assert status == 200 and not answer.get("partialSuccess"), answer
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        answer = trace_service_pb2_grpc.TraceServiceStub(channel).Export(bodies["grpc"], timeout=30)
        assert not answer.partial_success.rejected_spans, answer
        logs = _logs_request(ledger)
        grpc_logs = logs_service_pb2_grpc.LogsServiceStub(channel).Export(logs, timeout=30)
    # Over gRPC and over HTTP: each identifier-borne canary refused, the rest accepted.
    assert grpc_logs.partial_success.rejected_log_records == len(CANARIES) - len(KEYED_ONLY)
    status, answer = server.request(
        "POST",
        "/v1/logs",
        logs.SerializeToString(),
        content_type="application/x-protobuf",
        token=None,
    )
    assert status == 200
    events, refused_fields = _business_events(ledger)
    status, answer = server.request("POST", "/v1/events", events, token=None)
    assert status == 200
    assert answer["accepted"] == len(events) - len(refused_fields)
    assert [r["error"].split(":")[0] for r in answer["rejected"]] == refused_fields
    assert all("looks like a patient identifier" in r["error"] for r in answer["rejected"])

    # Every accepted item is stored before the store is searched; the rules tables and the
    # exceptions derived from them are filled too.
    def stored() -> bool:
        _, tx = server.request("GET", "/api/transactions/canary-events-ssn", token=None)
        _, spans = server.request("GET", "/api/transactions/canary-grpc-phone", token=None)
        _, logged = server.request("GET", "/api/transactions/canary-logs-dob", token=None)
        return bool(tx["events"] and spans["spans"] and logged["events"])

    server.wait_for(stored, timeout=20)
    status, _ = server.request("POST", "/api/rules/evaluate?persist=true", {}, token=None)
    assert status == 200
    status, metrics = server.request("GET", "/metrics", token=None)
    redactions = sum(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("rxsight_phi_redactions_total")
    )
    server.stop()

    tokens = {kind: token for kind, (_, token) in CANARIES.items()}
    swept = subprocess.run(
        [
            sys.executable,
            "-c",
            SWEEP,
            f"chdb://{server.data_dir / 'clickhouse'}",
            json.dumps(tokens),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(swept.stdout.strip().splitlines()[-1])
    log = server.log_path.read_text(errors="replace")
    log_hits = [kind for kind, token in tokens.items() if token.lower() in log.lower()]
    stored_rows = sum(result["tables"].values())
    print(
        f"\nPHI canary sweep: tried {len(ledger.tried)} (door, place, kind) combinations "
        f"({len({d for d, _, _ in ledger.tried})} doors, {len({p for _, p, _ in ledger.tried})} "
        f"places, {len(CANARIES)} kinds); searched {result['columns']} String columns of "
        f"{len(result['tables'])} tables ({stored_rows} rows) and {len(log)} bytes of server "
        f"log; hits: {len(result['hits'])} in the store, {len(log_hits)} in the log; "
        f"redactions counted: {redactions:g}"
    )
    assert result["hits"] == [], json.dumps(result["hits"])
    assert log_hits == []
    assert result["tables"]["otel_traces"] >= 3 * len(CANARIES)
    assert result["tables"]["business_events"] >= 2 * len(CANARIES)
    assert redactions > 0
