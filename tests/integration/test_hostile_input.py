"""Hostile and malformed input: clear 4xx errors naming the field, never a 5xx or a crash."""

from __future__ import annotations

import gzip
import json
import random
import uuid

import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support import Server

TOKEN = "hostile-admin-token-0123456789"
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def small_server():
    srv = Server({"ingest": {"max_request_bytes": LIMIT}}, admin_token=TOKEN).start()
    yield srv
    srv.cleanup()


def _valid(**over):
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "po.transmitted",
        "occurred_at": "2026-11-20T10:00:00Z",
        "correlation_id": "c-hostile",
        "source_system": "erp",
        "po_number": "PO-H",
    }
    event.update(over)
    return event


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "event_id",
    "event_type",
    "occurred_at",
    "correlation_id",
    "source_system",
    "site",
    "domain",
    "quantity",
    "unit_price",
    "amount",
    "currency",
    "priority",
    "lines",
    "attributes",
    "expected_at",
    "promised_at",
    "due_at",
    "po_number",
]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_any_bad_field_is_rejected_by_name_and_siblings_kept(small_server, field, value):
    bad = _valid(**{field: value})
    good = _valid()
    status, body = small_server.request("POST", "/v1/events", [good, bad])
    assert status == 200, body  # the good sibling is always accepted
    assert body["accepted"] in (1, 2)
    if body["accepted"] == 1:
        [rejection] = body["rejected"]
        assert rejection["index"] == 1
        assert field in rejection["error"], rejection


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    payload=st.binary(max_size=2048),
    path=st.sampled_from(["/v1/events", "/v1/traces", "/v1/logs"]),
    ctype=st.sampled_from(
        ["application/json", "application/x-protobuf", "application/x-ndjson", "text/plain", ""]
    ),
)
def test_random_bytes_never_cause_a_5xx(small_server, payload, path, ctype):
    status, body = small_server.request("POST", path, payload, content_type=ctype)
    assert status < 500, (status, body)
    if status >= 400 and path == "/v1/events":
        # A whole-body error, or per-item errors with nothing accepted.
        assert isinstance(body, dict), body
        assert body.get("error") or all(r["error"] for r in body["rejected"]), body
    elif status >= 400:
        # OTLP: a google.rpc.Status, protobuf to a protobuf request, JSON otherwise.
        if ctype == "application/x-protobuf":
            assert Status.FromString(body).message, body
        else:
            assert json_format.ParseDict(body, Status()).message, body


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_protobuf_spans_never_cause_a_5xx(small_server, data):
    req = ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = uuid.uuid4().bytes, b"12345678", "s"
    span.start_time_unix_nano, span.end_time_unix_nano = 10**18, 10**18 + 5
    raw = bytearray(req.SerializeToString())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    status, body = small_server.request(
        "POST", "/v1/traces", bytes(raw), content_type="application/x-protobuf"
    )
    assert status in (200, 400), (status, body)


@pytest.mark.parametrize(
    ("body", "ctype", "headers", "status", "says"),
    [
        (b"{not json", "application/json", {}, 400, "malformed JSON"),
        (b"[]", "application/json", {}, 400, "accepted"),
        (b"", "application/json", {}, 400, "empty"),
        (b"<xml/>", "application/xml", {}, 415, "Content-Type"),
        (b"x" * (LIMIT + 1), "application/json", {}, 413, "limit"),
        (
            gzip.compress(b"[" + b" " * (LIMIT * 4) + b"]"),
            "application/json",
            {"Content-Encoding": "gzip"},
            413,
            "after decompression",
        ),
        (b"\x1f\x8b\x08garbage", "application/json", {"Content-Encoding": "gzip"}, 400, "gzip"),
        (b"[]", "application/json", {"Content-Encoding": "br"}, 415, "Content-Encoding"),
        (b"[" * 5000 + b"]" * 5000, "application/json", {}, 400, "JSON"),
    ],
)
def test_whole_body_problems_get_a_clear_error(small_server, body, ctype, headers, status, says):
    got, answer = small_server.request(
        "POST", "/v1/events", body, content_type=ctype, headers=headers
    )
    if got == 400 and says == "accepted":  # an empty array: nothing accepted
        assert answer == {"accepted": 0, "duplicates": 0, "rejected": []}
        return
    assert got == status, answer
    assert says.lower() in json.dumps(answer).lower(), answer


def test_limits_reject_not_truncate(small_server):
    too_long = _valid(correlation_id="c" * 257)
    many_lines = _valid(lines=[{"line_no": i, "quantity": 1} for i in range(1001)])
    many_attrs = _valid(attributes={f"k{i}": "v" for i in range(129)})
    too_precise = _valid(amount="1.23456")
    naive = _valid(occurred_at="2026-11-20T10:00:00")
    unknown = _valid(event_type="po.teleported")
    items = [too_long, many_lines, many_attrs, too_precise, naive, unknown, _valid()]
    status, body = small_server.request("POST", "/v1/events", items)
    assert status == 200 and body["accepted"] == 1
    errors = {r["index"]: r["error"] for r in body["rejected"]}
    assert "correlation_id" in errors[0]
    assert "lines" in errors[1]
    assert "attributes" in errors[2]
    assert "amount" in errors[3]
    assert "occurred_at" in errors[4] and "offset" in errors[4]
    assert "event_type" in errors[5] and "po.teleported" in errors[5]


def test_ndjson_bad_line_keeps_the_others(small_server):
    lines = [json.dumps(_valid()), "{oops", json.dumps(_valid()), json.dumps([1, 2])]
    status, body = small_server.request(
        "POST", "/v1/events", "\n".join(lines).encode(), content_type="application/x-ndjson"
    )
    assert status == 200 and body["accepted"] == 2
    errors = {r["index"]: r["error"] for r in body["rejected"]}
    assert "line 2" in errors[1] and "malformed JSON" in errors[1]
    assert "JSON object" in errors[3]


def test_server_survives_and_stays_ready(small_server):
    rng = random.Random(7)
    for _ in range(50):
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 400)))
        small_server.request("POST", "/v1/traces", junk, content_type="application/json")
    status, body = small_server.request("GET", "/readyz")
    assert status == 200 and body["status"] == "ready"
    assert small_server.proc.poll() is None
