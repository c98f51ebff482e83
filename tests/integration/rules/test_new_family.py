"""A sixth rule family is a folder and nothing else: once the registry finds it, its findings
appear in evaluation, in alerts (labelled with the family), on the console's overview and
exception filters, and in /metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.scenario import console_config
from tests.integration.rxsight.conftest import signed_in
from tests.support import Server

TOKEN = "new-family-admin-token-012345678"
FAMILY = "cancelled_request"

FAMILY_INIT = """
from rules.families import Family, Rule


def summarize(reason, entity, details):
    return f"request {entity['correlation_id']} cancelled"


FAMILY = Family(
    name="cancelled_request",
    order=90,
    description="Replenishment requests the pharmacy cancelled",
    rules=(Rule("cancelled_request", "Cancelled requests", "cancelled_request"),),
    default_owner="pharmacy-buyers",
    default_severity="info",
    summarize=summarize,
    module_file=__file__,
)
"""
FAMILY_SQL = """
SELECT 'cancelled' AS reason, min(occurred_at) AS since, correlation_id,
    any(site) AS site, any(domain) AS domain
FROM business_events
WHERE event_type = 'replenishment.cancelled' AND occurred_at <= {as_of:DateTime64(3, 'UTC')}
GROUP BY correlation_id
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    extra = tmp_path_factory.mktemp("families")
    folder = extra / FAMILY
    folder.mkdir()
    (folder / "__init__.py").write_text(FAMILY_INIT)
    (folder / f"{FAMILY}.sql").write_text(FAMILY_SQL)
    prelude = f"import rules.families; rules.families.__path__.append({str(Path(extra))!r})"
    server = Server(
        {**console_config(), "rules": {"interval_s": 3600}}, admin_token=TOKEN, prelude=prelude
    )
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def test_a_family_folder_appears_everywhere(srv: Server) -> None:
    cid = f"c-{uuid.uuid4().hex[:8]}"
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    event = {
        "event_id": f"cancel-{cid}",
        "event_type": "replenishment.cancelled",
        "source_system": "pharmacy",
        "correlation_id": cid,
        "occurred_at": at,
        "site": "mercy-main",
    }
    status, answer = srv.request("POST", "/v1/events", [event], token=TOKEN)
    assert status == 200 and answer["accepted"] == 1, answer

    def found() -> list[dict]:
        status, body = srv.request("POST", "/api/rules/evaluate?persist=true", {}, token=TOKEN)
        assert status == 200 and not body["errors"], body["errors"]
        return [f for f in body["findings"] if f["family"] == FAMILY]

    (finding,) = srv.wait_for(found, timeout=15)
    assert finding["rule_id"] == FAMILY and finding["correlation_id"] == cid
    assert finding["owner"] == "pharmacy-buyers" and finding["severity"] == "info"
    assert finding["summary"] == f"request {cid} cancelled"

    _, rules_listed = srv.request("GET", "/api/rules", token=TOKEN)
    listed = {r["id"]: r for r in rules_listed["rules"]}
    assert listed[FAMILY]["source"] == f"rules/families/{FAMILY}/{FAMILY}.sql"

    def alerted() -> list[dict]:
        _, body = srv.request("GET", f"/api/alerts?family={FAMILY}", token=TOKEN)
        return body["alerts"]

    (alert,) = srv.wait_for(alerted, timeout=15)
    assert alert["labels"]["alertname"] == FAMILY and alert["labels"]["owner"] == "pharmacy-buyers"

    with signed_in(srv.url, "ada") as client:
        overview = client.get("/").text
        filters = client.get("/exceptions?owner=all").text
    assert "cancelled request" in overview.lower()
    assert f'<option value="{FAMILY}"' in filters

    _, metrics = srv.request("GET", "/metrics", token=TOKEN)
    assert f'rxsight_rules_findings{{family="{FAMILY}",reason="cancelled"}} 1.0' in metrics
    assert f'rxsight_exceptions_open{{family="{FAMILY}"' in metrics
