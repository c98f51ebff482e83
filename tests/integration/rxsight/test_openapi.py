"""The OpenAPI document a client generator reads (DESIGN 7, issue 23 item 3): short stable
operationIds, the bearer and cookie security schemes, documented refusals in the error
body's shape, /metrics as text, and the docs pages served without a CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.support import Server

# Generated clients name their methods after these: renaming one breaks every client, so a
# change here is deliberate. Routes added later get camelCase IDs of their own (checked below).
STABLE_IDS = {
    ("post", "/v1/traces"): "exportTraces",
    ("post", "/v1/logs"): "exportLogs",
    ("post", "/v1/events"): "ingestEvents",
    ("get", "/api/transactions/{correlation_id}"): "getTransaction",
    ("get", "/api/search"): "searchTransactions",
    ("get", "/api/audit"): "listAuditEntries",
    ("get", "/api/audit/verify"): "verifyAuditChain",
    ("post", "/api/rules/evaluate"): "evaluateRules",
    ("get", "/api/rules"): "listRules",
    ("get", "/api/exceptions"): "listExceptions",
    ("post", "/api/exceptions/bulk"): "actOnExceptions",
    ("post", "/api/exceptions/{exception_id}/ack"): "ackException",
    ("post", "/api/exceptions/{exception_id}/assign"): "assignException",
    ("post", "/api/exceptions/{exception_id}/comment"): "commentException",
    ("post", "/api/exceptions/{exception_id}/resolve"): "resolveException",
    ("post", "/api/exceptions/{exception_id}/reopen"): "reopenException",
    ("get", "/api/exceptions/{exception_id}/audit"): "getExceptionAudit",
    ("get", "/api/exceptions/{exception_id}"): "getException",
    ("get", "/api/replenishments/open"): "listOpenReplenishments",
    ("get", "/api/flows"): "listFlows",
    ("get", "/api/portfolio"): "getPortfolio",
    ("get", "/api/alerts"): "listAlerts",
    ("get", "/api/alerts/config"): "getAlertsConfig",
    ("post", "/api/alerts/reload"): "reloadAlertsConfig",
    ("post", "/api/alerts/test"): "sendTestAlert",
    ("post", "/api/alerts/routes/test"): "testAlertRoutes",
    ("get", "/api/silences"): "listSilences",
    ("post", "/api/silences"): "createSilence",
    ("get", "/api/silences/{silence_id}"): "getSilence",
    ("put", "/api/silences/{silence_id}"): "updateSilence",
    ("delete", "/api/silences/{silence_id}"): "expireSilence",
    ("get", "/api/deliveries"): "listDeliveries",
    ("get", "/api/dead-letters"): "listDeadLetters",
    ("post", "/api/dead-letters/{notification_id}/replay"): "replayDeadLetter",
    ("get", "/api/kpis"): "getKpis",
    ("get", "/api/kpis/export"): "exportKpis",
    ("get", "/metrics"): "getMetrics",
    ("get", "/healthz"): "getHealth",
    ("get", "/readyz"): "getReadiness",
}
_SHORT_ID = re.compile(r"[a-z][a-zA-Z0-9]{2,39}")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture(scope="module")
def doc(server: Server) -> dict[str, Any]:
    return httpx.get(f"{server.url}/openapi.json").json()


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in _METHODS:
                yield method, path, operation


def test_operation_ids_are_short_unique_and_stable(doc: dict[str, Any]) -> None:
    ids = {(m, p): op.get("operationId") for m, p, op in _operations(doc)}
    bad = {k: v for k, v in ids.items() if not v or not _SHORT_ID.fullmatch(v)}
    assert not bad, f"operationIds that are missing or not short camelCase: {bad}"
    seen: dict[str, tuple[str, str]] = {}
    for key, op_id in ids.items():
        assert op_id not in seen, f"{op_id} names both {seen[op_id]} and {key}"
        seen[op_id] = key
    changed = {k: (v, ids.get(k)) for k, v in STABLE_IDS.items() if ids.get(k) != v}
    assert not changed, f"operationIds renamed or gone (expected, got): {changed}"


def test_each_operation_is_listed_under_one_tag(doc: dict[str, Any]) -> None:
    # Swagger UI and ReDoc list an operation once per tag: two tags show it twice.
    tags = {(m, p): op.get("tags", []) for m, p, op in _operations(doc)}
    assert not {k: v for k, v in tags.items() if len(v) != 1}


# A download: the JSON form of the KPI report file, not an API answer.
UNTYPED_ON_PURPOSE = {"exportKpis"}


def test_every_json_answer_has_a_named_model(doc: dict[str, Any]) -> None:
    """A generator makes a class of each named schema; an anonymous `object` becomes a bare
    dict. Every route declares its answer (a pydantic model beside its stage's api module)."""
    untyped = []
    for method, path, op in _operations(doc):
        if op["operationId"] in UNTYPED_ON_PURPOSE:
            continue
        for code, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                continue
            named = schema.get("items", {}) if schema.get("type") == "array" else schema
            if "$ref" not in named and "anyOf" not in named:
                untyped.append(f"{method.upper()} {path} {code}: {schema}")
    assert not untyped, "answers without a model:\n" + "\n".join(untyped)


def test_security_schemes_are_declared_and_used(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert schemes["sessionCookie"]["type"] == "apiKey"
    assert (schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]) == (
        "cookie",
        "rxsight_session",
    )
    assert (schemes["csrfToken"]["in"], schemes["csrfToken"]["name"]) == ("header", "X-CSRF-Token")
    for method, path, op in _operations(doc):
        if not path.startswith("/api/"):
            continue
        security = op.get("security")
        assert security, f"{method} {path} declares no security"
        assert {"bearerAuth": []} in security, f"{method} {path}"
        cookie = next(r for r in security if "sessionCookie" in r)
        # A cookie session's writes also carry the CSRF token (rxsight.auth.require).
        assert ("csrfToken" in cookie) == (method != "get"), f"{method} {path}: {security}"


def test_every_api_refusal_is_documented_in_the_error_shape(
    server: Server, doc: dict[str, Any]
) -> None:
    error = doc["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["detail"]
    for method, path, op in _operations(doc):
        if not path.startswith("/api/"):
            continue
        for code in ("401", "403"):
            content = op["responses"][code]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    # What a refusal really looks like, against what the document says.
    anonymous = httpx.get(f"{server.url}/api/exceptions")
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"detail"}
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    missing = httpx.get(f"{server.url}/api/silences/no-such-silence", headers=headers)
    assert missing.status_code == 404 and set(missing.json()) == {"detail"}
    assert "404" in doc["paths"]["/api/silences/{silence_id}"]["get"]["responses"]


def test_metrics_are_documented_as_the_text_exposition(server: Server, doc: dict[str, Any]) -> None:
    responses = doc["paths"]["/metrics"]["get"]["responses"]
    assert list(responses["200"]["content"]) == ["text/plain"]
    assert responses["200"]["content"]["text/plain"]["schema"] == {"type": "string"}
    answer = httpx.get(f"{server.url}/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in answer.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_their_assets_from_rxsight(server: Server, page: str) -> None:
    html = httpx.get(server.url + page).text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, html
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        answer = httpx.get(server.url + asset)
        assert answer.status_code == 200 and len(answer.content) > 100, asset
