"""POST /v1/events through a running server: each refusal names its item, field and reason,
and never takes a valid sibling down."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from tests.support import Server


@pytest.fixture(scope="module")
def server():
    srv = Server({"retention": {"events_days": 30}}).start()
    yield srv
    srv.cleanup()


def _event(cid: str, **fields) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "po.transmitted",
        "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": cid,
        "source_system": "erp",
        "po_number": "PO-7",
        **fields,
    }


def _post(server: Server, body: bytes) -> tuple[int, dict]:
    return server.request("POST", "/v1/events", body, token=None)


def test_a_quantity_beyond_a_double_rejects_its_item_not_the_batch(server: Server):
    cid = f"c-big-{uuid.uuid4().hex[:6]}"
    good = json.dumps(_event(cid))
    big = json.dumps(_event(cid))[:-1] + ', "quantity": 1e400}'
    status, body = _post(server, f"[{good}, {big}]".encode())
    assert status == 200, body
    assert body["accepted"] == 1
    [rejection] = body["rejected"]
    assert rejection["index"] == 1 and rejection["error"].startswith("quantity: ")
    tx = server.wait_for(lambda: server.request("GET", f"/api/transactions/{cid}")[1]["events"])
    assert len(tx) == 1


def test_what_retention_would_drop_is_refused_with_the_reason_not_acknowledged(server: Server):
    cid = f"c-old-{uuid.uuid4().hex[:6]}"
    old = _event(cid, occurred_at=(datetime.now(UTC) - timedelta(days=31)).isoformat())
    epoch = _event(cid, occurred_at="1969-07-20T20:17:00Z")
    future = _event(cid, occurred_at="2300-01-01T00:00:00Z")
    status, body = server.request("POST", "/v1/events", [old, epoch, future], token=None)
    assert status == 400 and body["accepted"] == 0
    errors = [r["error"] for r in body["rejected"]]
    assert "older than the events retention (30 days)" in errors[0]
    assert "older than the events retention (30 days)" in errors[1]
    assert "in the future" in errors[2]


def test_an_event_without_its_key_fields_or_with_a_negative_quantity_is_refused(server: Server):
    cid = f"c-keys-{uuid.uuid4().hex[:6]}"
    no_po = _event(cid, event_type="po.created", supplier_id="S-1", po_number=None)
    negative = _event(
        cid,
        event_type="goods.received",
        receipt_id="R-1",
        lines=[{"line_no": 1, "item_id": "NDC-1", "quantity": -5}],
    )
    status, body = server.request("POST", "/v1/events", [_event(cid), no_po, negative], token=None)
    assert status == 200 and body["accepted"] == 1
    assert [(r["index"], r["error"].split(";")[0]) for r in body["rejected"]] == [
        (1, "po_number: required for po.created"),
        (2, "lines.0.quantity: must be ≥ 0 (a return or correction is its own event type)"),
    ]


def test_correlation_ids_are_either_refused_or_readable_by_id(server: Server):
    """`/` and dot segments cannot travel as one path segment (servers split on %2F, clients
    resolve `.` and `..`), so they are refused at ingest; every other character is read back."""
    tag = uuid.uuid4().hex[:6]
    refused = [f"{tag}/a", ".", ".."]
    status, body = server.request(
        "POST", "/v1/events", [_event(cid) for cid in refused], token=None
    )
    assert status == 400
    assert [r["error"].split(" (")[0] for r in body["rejected"]] == [
        "correlation_id: must not contain '/'",
        "correlation_id: must not be '.' or '..'",
        "correlation_id: must not be '.' or '..'",
    ]
    readable = [f"{tag} a?b#c%2F", f"..{tag}", f"{tag}\\x", f"{tag};é+&="]
    status, body = server.request(
        "POST", "/v1/events", [_event(cid) for cid in readable], token=None
    )
    assert status == 200 and body["accepted"] == len(readable), body
    for cid in readable:
        events = server.wait_for(
            lambda cid=cid: server.request(
                "GET", f"/api/transactions/{quote(cid, safe='')}", token=None
            )[1].get("events")
        )
        assert [e["correlation_id"] for e in events] == [cid]


def test_a_resent_event_is_a_duplicate_and_other_content_under_its_id_a_conflict(
    server: Server,
):
    cid = f"c-resend-{uuid.uuid4().hex[:6]}"
    first = _event(cid)
    status, body = server.request("POST", "/v1/events", [first], token=None)
    assert (status, body) == (200, {"accepted": 1, "duplicates": 0, "rejected": []})
    changed = {**first, "po_number": "PO-8"}
    # Before the first is written (it may still be in the spool) and after.
    for _ in range(2):
        status, body = server.request("POST", "/v1/events", [first, changed], token=None)
        assert status == 200 and body["accepted"] == 0 and body["duplicates"] == 1, body
        [conflict] = body["rejected"]
        assert conflict["index"] == 1
        assert conflict["error"].startswith(
            f"event_id: {first['event_id']!r} was stored with different content at 20"
        ), conflict
        server.wait_for(
            lambda: server.request("GET", f"/api/transactions/{cid}", token=None)[1]["events"]
        )
    # Two sends of one new event in one request: one accepted, one duplicate.
    again = _event(cid)
    status, body = server.request("POST", "/v1/events", [again, again], token=None)
    assert (status, body) == (200, {"accepted": 1, "duplicates": 1, "rejected": []})
    events = server.wait_for(
        lambda: (
            e
            if len(e := server.request("GET", f"/api/transactions/{cid}", token=None)[1]["events"])
            == 2
            else None
        )
    )
    assert {e["event_id"]: e["po_number"] for e in events} == {
        first["event_id"]: "PO-7",
        again["event_id"]: "PO-7",
    }


def test_a_resend_after_a_restart_is_found_in_the_store(tmp_path):
    srv = Server(data_dir=tmp_path).start()
    try:
        cid = f"c-restart-{uuid.uuid4().hex[:6]}"
        first = _event(cid)
        assert srv.request("POST", "/v1/events", [first], token=None)[1]["accepted"] == 1
        srv.wait_for(
            lambda: srv.request("GET", f"/api/transactions/{cid}", token=None)[1]["events"]
        )
        srv.stop()
        srv.start()
        changed = {**first, "quantity": 3}
        status, body = srv.request("POST", "/v1/events", [first, changed], token=None)
        assert status == 200 and (body["accepted"], body["duplicates"]) == (0, 1), body
        assert "conflict" in body["rejected"][0]["error"]
    finally:
        srv.cleanup()
