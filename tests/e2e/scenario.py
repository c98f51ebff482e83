"""The conformance scenario loaded into a live server for the browser tests and the bench."""

from __future__ import annotations

import json
from typing import Any

from rules import families as rule_families
from rxsight.auth import hash_password
from rxsight.timeutil import parse_rfc3339, rfc3339
from tests import family_oracle
from tests.support import CONFORMANCE, Server

SCENARIO = CONFORMANCE / "scenario-public"
ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"
PASSWORDS = {
    "ada": "ada-admin-pass",
    "otto": "otto-operator-pass",
    "vera": "vera-viewer-pass",
    "fin": "fin-ap-pass",
}
SITES = {
    "mercy-main": {"timezone": "America/Chicago", "name": "Mercy Main"},
    "mercy-east": {"timezone": "America/Chicago", "name": "Mercy East"},
    "lakeside": {"timezone": "America/New_York", "name": "Lakeside"},
    "northgate-clinic": {"timezone": "America/Denver", "name": "Northgate Clinic"},
}


def console_config() -> dict[str, Any]:
    """Users of every role; `fin` is an operator scoped to the accounts payable owner. The
    scenario is loaded as written (November 2026): retention reaches back far enough to keep
    it, or ingest would rightly refuse its spans and events as too old."""
    return {
        "retention": {"traces_days": 3650, "events_days": 3650},
        "users": [
            {
                "username": "ada",
                "password_hash": hash_password(PASSWORDS["ada"]),
                "role": "admin",
                "display_name": "Ada Admin",
            },
            {
                "username": "otto",
                "password_hash": hash_password(PASSWORDS["otto"]),
                "role": "operator",
                "display_name": "Otto Operator",
            },
            {
                "username": "vera",
                "password_hash": hash_password(PASSWORDS["vera"]),
                "role": "viewer",
                "display_name": "Vera Viewer",
            },
            {
                "username": "fin",
                "password_hash": hash_password(PASSWORDS["fin"]),
                "role": "operator",
                "owner": "accounts-payable",
                "display_name": "Fin AP",
            },
        ],
        "sites": SITES,
    }


def meta() -> dict[str, Any]:
    return json.loads((SCENARIO / "meta.json").read_text())


def expected() -> list[dict[str, Any]]:
    """Every finding as of the scenario's instant: expected.json's (DESIGN 5's first four
    families), and those of supplier_response and reconciliation as tests/family_oracle.py
    works them out from the events (expected.json predates them)."""
    found = json.loads((SCENARIO / "expected.json").read_text())
    rows = [json.loads(line) for line in (SCENARIO / "events.ndjson").read_text().splitlines()]
    events = [e for e in rows if not e.get("_invalid")]
    as_of = parse_rfc3339(meta()["as_of"])
    for family, key, by_key in (
        ("supplier_response", "po_number", family_oracle.supplier_response(events, as_of)),
        ("reconciliation", "receipt_id", family_oracle.reconciliation(events, as_of)),
    ):
        if family not in rule_families.names():
            continue
        for value, (reason, since) in sorted(by_key.items()):
            found.append({"family": family, key: value, "reason": reason, "since": rfc3339(since)})
    return found


def load(server: Server, chunk: int = 200) -> None:
    """Events in chunks (skipping the deliberately invalid lines), then every trace request."""
    lines = [
        line
        for line in (SCENARIO / "events.ndjson").read_text().splitlines()
        if line.strip() and "_invalid" not in line
    ]
    for i in range(0, len(lines), chunk):
        body = ("\n".join(lines[i : i + chunk]) + "\n").encode()
        status, answer = server.request(
            "POST", "/v1/events", body, content_type="application/x-ndjson"
        )
        assert status == 200, answer
    for request in json.loads((SCENARIO / "traces.json").read_text()):
        status, answer = server.request("POST", "/v1/traces", request)
        assert status == 200, answer


def evaluate(server: Server, as_of: str) -> Any:
    """Persist the rules' findings as of the scenario's instant."""
    return server.request("POST", f"/api/rules/evaluate?as_of={as_of}&persist=true")
