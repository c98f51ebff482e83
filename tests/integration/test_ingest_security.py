"""Security at the door: ingest tokens bound to source systems, loopback-only ingest, PHI."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.support import Server

ADMIN = "security-admin-token-0123456789"
ERP = "erp-ingest-token-0123456789abcdef"
AP = "ap-ingest-token-0123456789abcdefg"


@pytest.fixture(scope="module")
def guarded():
    srv = Server(
        {
            "ingest": {
                "tokens": [
                    {"name": "erp", "token": ERP, "source_systems": ["erp", "erp-inventory"]},
                    {"name": "ap", "token": AP},
                ],
                "phi": {"drop_keys": ["patient.name", "insurance.member_id"]},
            },
        },
        admin_token=ADMIN,
    ).start()
    yield srv
    srv.cleanup()


def _event(source: str, cid: str, **extra) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "po.transmitted",
        "occurred_at": "2026-11-20T10:00:00Z",
        "correlation_id": cid,
        "source_system": source,
        "po_number": "PO-1",
        **extra,
    }


def test_ingest_needs_a_token_when_tokens_are_configured(guarded: Server):
    status, body = guarded.request("POST", "/v1/events", _event("erp", "c1"), token=None)
    assert status == 401 and "token" in body["error"]
    status, body = guarded.request("POST", "/v1/events", _event("erp", "c1"), token="nope" * 8)
    assert status == 401 and "invalid" in body["error"]
    status, _ = guarded.request(
        "POST", "/v1/traces", b"", content_type="application/x-protobuf", token=None
    )
    assert status == 401


def test_a_token_bound_to_source_systems_cannot_speak_for_another(guarded: Server):
    cid = f"c-bound-{uuid.uuid4().hex[:6]}"
    batch = [_event("erp", cid), _event("ap-inbox", cid), _event("erp-inventory", cid)]
    status, body = guarded.request("POST", "/v1/events", batch, token=ERP)
    assert status == 200 and body["accepted"] == 2
    [rejection] = body["rejected"]
    assert rejection["index"] == 1
    assert "source_system" in rejection["error"] and "ap-inbox" in rejection["error"]
    # An unbound token may send any source system.
    status, body = guarded.request("POST", "/v1/events", [_event("ap-inbox", cid)], token=AP)
    assert status == 200 and body["accepted"] == 1


def test_ingest_tokens_cannot_read_the_api(guarded: Server):
    status, _ = guarded.request("GET", "/api/transactions/x", token=ERP)
    assert status == 403
    status, _ = guarded.request("GET", "/api/transactions/x", token=None)
    assert status == 401
    status, _ = guarded.request("GET", "/api/transactions/x", token=ADMIN)
    assert status == 200


def test_phi_is_dropped_and_redacted_and_counted(guarded: Server):
    cid = f"c-phi-{uuid.uuid4().hex[:6]}"
    attrs = {
        "patient.name": "Jane Roe",
        "insurance.member_id": "XJ-1",
        "patient.room": "4B",
        "note": "call 555-867-5309 or jane.roe@example.org",
        "ssn_seen": "123-45-6789",
        "ref": "MRN: 00123456",
        "birth": "1980-02-03",
        "remark": "DOB 1980-02-03",
        "ward": "ICU-3",
        "ndc": "NDC-70121-1568-01",
    }
    status, body = guarded.request(
        "POST", "/v1/events", _event("erp", cid, attributes=attrs), token=ERP
    )
    assert status == 200 and body["accepted"] == 1
    now = time.time_ns()
    span = {
        "traceId": uuid.uuid4().hex,
        "spanId": uuid.uuid4().hex[:16],
        "name": "adt",
        "startTimeUnixNano": str(now),
        "endTimeUnixNano": str(now + 10),
        "attributes": [
            {"key": "correlation.id", "value": {"stringValue": cid}},
            {"key": "patient.mrn", "value": {"stringValue": "884422"}},
            {"key": "http.url", "value": {"stringValue": "/p?ssn=123-45-6789"}},
        ],
    }
    status, _ = guarded.request(
        "POST", "/v1/traces", {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}, token=ERP
    )
    assert status == 200

    def stored():
        _, tx = guarded.request("GET", f"/api/transactions/{cid}")
        return tx if tx["events"] and tx["spans"] else None

    tx = guarded.wait_for(stored)
    kept = tx["events"][0]["attributes"]
    assert "patient.name" not in kept and "insurance.member_id" not in kept
    assert "patient.room" not in kept  # a key naming a patient goes, whatever its value
    assert "555-867-5309" not in kept["note"] and "jane.roe@example.org" not in kept["note"]
    assert kept["note"] == "call [REDACTED:phone] or [REDACTED:email]"
    assert "ssn_seen" not in kept
    assert "00123456" not in kept["ref"] and "birth" not in kept
    assert kept["remark"] == "[REDACTED:dob]"
    assert kept["ward"] == "ICU-3" and kept["ndc"] == "NDC-70121-1568-01"  # not PHI
    span_attrs = tx["spans"][0]["attributes"]
    assert "patient.mrn" not in span_attrs
    assert "123-45-6789" not in span_attrs["http.url"]
    status, metrics = guarded.request("GET", "/metrics")
    counts = {
        line.split("{")[1].split("}")[0]: float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("rxsight_phi_redactions_total")
    }
    for kind in ("ssn", "phone", "email", "mrn", "dob", "dropped_key", "patient_key"):
        assert counts.get(f'kind="{kind}"', 0) >= 1, (kind, counts)


def test_loopback_ingest_without_tokens_but_not_api_when_admin_token_set():
    srv = Server(admin_token=ADMIN).start()
    try:
        status, body = srv.request("POST", "/v1/events", _event("erp", "c-lo"), token=None)
        assert status == 200 and body["accepted"] == 1  # loopback, no ingest token configured
        status, _ = srv.request("GET", "/api/transactions/c-lo", token=None)
        assert status == 401  # the API is not open once an admin token exists
    finally:
        srv.cleanup()
