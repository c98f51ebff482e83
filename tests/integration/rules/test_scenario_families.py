"""The public conformance scenario, extended to supplier_response and reconciliation: the rules'
findings of both families (reason and since, entity by entity) against tests/family_oracle.py,
which works them out in Python from DESIGN 5.5 and 5.6, at the scenario's instant and at
earlier ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from rxsight.timeutil import rfc3339
from tests import family_oracle
from tests.integration.rules.api_kit import evaluate
from tests.support import CONFORMANCE, Server

TOKEN = "scenario-families-token-0123456789"
SCENARIO = CONFORMANCE / "scenario-public"
# Two of the scenario's suppliers send ASNs: their acknowledged POs are judged for no_asn.
ASN_SUPPLIERS = frozenset({"SUP-1001", "SUP-3003"})

pytestmark = pytest.mark.skipif(
    not SCENARIO.exists(), reason=f"no conformance scenario at {SCENARIO}"
)


def events() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (SCENARIO / "events.ndjson").read_text().splitlines()]
    return [e for e in rows if not e.get("_invalid")]


def as_of() -> datetime:
    meta = json.loads((SCENARIO / "meta.json").read_text())
    return family_oracle.parse_rfc3339(meta["as_of"])


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    config = {
        # The scenario is sent as written (November 2026).
        "retention": {"traces_days": 3650, "events_days": 3650},
        "rules": {
            "interval_s": 3600,
            "thresholds": {
                "supplier_response": {
                    "suppliers": {s: {"asn_expected": True} for s in ASN_SUPPLIERS}
                }
            },
        },
    }
    with Server(config, admin_token=TOKEN) as server:
        body = events()
        status, answer = server.request("POST", "/v1/events", body, token=TOKEN)
        # The scenario resends a few events (duplicates, answered as such).
        assert status == 200 and answer["accepted"] + answer["duplicates"] == len(body), answer
        yield server


def found(srv: Server, at: datetime, family: str, key: str) -> dict[str, tuple[str, str]]:
    body = evaluate(srv, at)
    assert not body["errors"], body
    return {f[key]: (f["reason"], f["since"]) for f in body["findings"] if f["family"] == family}


def expected(found_by_oracle: dict[str, tuple[str, datetime]]) -> dict[str, tuple[str, str]]:
    return {k: (reason, rfc3339(since)) for k, (reason, since) in found_by_oracle.items()}


def assert_same(srv: Server, at: datetime, family: str, key: str, want: dict[str, Any]) -> None:
    """The rules agree with the oracle (waiting until the events sent are all visible)."""
    try:
        srv.wait_for(lambda: found(srv, at, family, key) == want, timeout=15)
    except AssertionError:
        have = found(srv, at, family, key)
        diff = {
            k: (have.get(k), want.get(k))
            for k in set(have) | set(want)
            if have.get(k) != want.get(k)
        }
        raise AssertionError(
            f"{family} as of {rfc3339(at)}: (rules, oracle) differ: {diff}"
        ) from None


@pytest.mark.parametrize("days_before", [0, 1, 3])
def test_supplier_response_as_the_design_says(srv: Server, days_before: int) -> None:
    at = as_of() - timedelta(days=days_before)
    want = expected(family_oracle.supplier_response(events(), at, ASN_SUPPLIERS))
    # The scenario has every reason but a late transmission: the comparison is not vacuous.
    if not days_before:
        assert {"no_ack", "no_asn", "rejected"} <= {r for r, _ in want.values()}, want
    assert_same(srv, at, "supplier_response", "po_number", want)


@pytest.mark.parametrize("days_before", [0, 1, 3])
def test_reconciliation_as_the_design_says(srv: Server, days_before: int) -> None:
    at = as_of() - timedelta(days=days_before)
    want = expected(family_oracle.reconciliation(events(), at))
    assert want, "the scenario's posted receipts have no journal naming them"
    assert_same(srv, at, "reconciliation", "receipt_id", want)
