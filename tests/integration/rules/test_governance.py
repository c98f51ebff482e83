"""The governance family (DESIGN 5.8) at each reason's boundary, and the portfolio catalog,
against a real server fed spans through the OpenTelemetry SDK and events through /v1/events.

What the server should find is worked out here, in Python, from what the test sent and the
DESIGN's wording (`expected_findings`), not from the rule's SQL; every instant checked is
compared whole (every governance finding, its reason and since), and each boundary is also
stated outright: at the limit exactly, and one millisecond past it."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any
from urllib.parse import urlencode

import openpyxl
import pytest

from rxsight.timeutil import rfc3339
from testkit.server import Server
from tests.integration.rules.api_kit import MS, Sent, evaluate, send_source_events, send_spans

TOKEN = "governance-admin-token-0123456789"
DAY = timedelta(days=1)
WINDOW = timedelta(hours=24)
FLOWS: dict[str, dict[str, Any]] = {
    "erp-po": {
        "tier": 1,
        "owner": "erp-integration",
        "deprecated_versions": ["v1"],
        "stale_days": 2,
    },
    "edi-asn": {"tier": 2, "owner": "edi-team"},
    "edi-inv": {"tier": 2, "owner": "edi-team"},
    "legacy-fax": {"tier": 3, "owner": "supply-it", "stale_days": 2},
    "never-seen": {"owner": "supply-it", "stale_days": 3},
}
SOURCES = {"erp": {"owner": "erp-integration"}, "pharmacy": {"owner": "pharmacy-it"}}
CONFIG = {
    "flows": FLOWS,
    "source_systems": SOURCES,
    "rules": {"interval_s": 3600},
}
# Nothing of this test lies on a whole hour: the window's partial hours count to the ms.
B = (datetime.now(UTC) - timedelta(days=6)).replace(second=0, microsecond=0) + timedelta(
    minutes=7, seconds=30, milliseconds=250
)
U = B + timedelta(hours=1)  # the unregistered flow's only span, the unregistered source's event
C = B + timedelta(hours=2)  # edi-asn: 19 correlated spans a minute apart, then 2 without
D = B + timedelta(hours=3)  # edi-inv: 20 spans without a correlation ID, a minute apart
P = B + timedelta(hours=4)  # erp-po calls /api/v1/orders (v1 deprecated for erp-po)
S = B + timedelta(hours=5)  # legacy-fax's last span (stale after 2 days)


def _span(name: str, at: datetime, cid: str = "", **attrs: str) -> Sent:
    return Sent("flow", name, at, cid, tuple(attrs.items()))


SENT: list[Sent] = [
    _span("erp-po", B, "c-first", **{"api.version": "v2"}),
    _span("shadow-sync", U, "c-shadow"),
    Sent("source_system", "excel-macro", U, "c-excel"),
    Sent("source_system", "erp", U, "c-erp"),
    *(
        _span("edi-asn", C + i * timedelta(minutes=1), f"c-asn-{i}" if i < 19 else "")
        for i in range(21)
    ),
    *(_span("edi-inv", D + i * timedelta(minutes=1)) for i in range(20)),
    Sent(
        "flow",
        "erp-po",
        P - timedelta(minutes=30),
        "c-v10",
        (("http.route", "/api/v10/items"),),
        True,
    ),
    _span("erp-po", P, "c-v1", **{"http.route": "/api/v1/orders/{id}"}),
    _span("legacy-fax", S, "c-fax"),
]


def expected_findings(sent: list[Sent], as_of: datetime) -> dict[str, tuple[str, datetime]]:
    """entity -> (reason, since), from DESIGN 5.8's wording (first reason that applies)."""
    seen = [s for s in sent if s.at <= as_of]
    window = [s for s in seen if as_of - WINDOW < s.at]
    spans = [s for s in seen if s.kind == "flow"]
    observed_since = min((s.at for s in spans), default=None)
    out: dict[str, tuple[str, datetime]] = {}
    for name in {s.name for s in spans} | set(FLOWS):
        mine = [s for s in spans if s.name == name]
        recent = [s for s in window if s.kind == "flow" and s.name == name]
        cfg = FLOWS.get(name)
        deprecated = (
            set(cfg["deprecated_versions"]) if cfg and "deprecated_versions" in cfg else set()
        )
        called = {s.version for s in recent} & deprecated
        correlated = sum(1 for s in recent if s.correlation_id)
        if cfg is None and recent:
            out[f"flow/{name}"] = ("unregistered_flow", min(s.at for s in mine))
        elif len(recent) >= 20 and Fraction(correlated, len(recent)) < Fraction(95, 100):
            out[f"flow/{name}"] = ("low_correlation_coverage", as_of - WINDOW)
        elif called:
            out[f"flow/{name}"] = ("deprecated_api", min(s.at for s in mine if s.version in called))
        elif cfg is not None:
            silent_from = max((s.at for s in mine), default=observed_since)
            limit = timedelta(days=cfg.get("stale_days", 30))
            if silent_from is not None and silent_from + limit < as_of:
                out[f"flow/{name}"] = ("stale_flow", silent_from + limit)
    for name in {s.name for s in seen if s.kind == "source_system"}:
        recent = [s for s in window if s.kind == "source_system" and s.name == name]
        if name not in SOURCES and recent:
            first = min(s.at for s in seen if s.kind == "source_system" and s.name == name)
            out[f"source_system/{name}"] = ("unregistered_flow", first)
    return out


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    with Server(CONFIG, admin_token=TOKEN) as server:
        send_spans(server.url, [s for s in SENT if s.kind == "flow"])
        send_source_events(server, [s for s in SENT if s.kind == "source_system"])
        want = sum(1 for s in SENT if s.kind == "flow")

        def stored() -> bool:
            at = rfc3339(B + timedelta(days=1))
            query = urlencode({"from": rfc3339(B), "to": at, "as_of": at})
            _, body = server.request("GET", f"/api/kpis?{query}", token=TOKEN)
            rows = [r for r in body["rows"] if r["kpi"] == "governed_workflow_share"]
            return bool(rows) and rows[0]["denominator"] == want

        server.wait_for(stored, timeout=20, interval=0.3)
        yield server


def governance(srv: Server, as_of: datetime) -> dict[str, dict[str, Any]]:
    body = evaluate(srv, as_of)
    assert not body["errors"], body
    out = {}
    for f in body["findings"]:
        if f["family"] == "governance":
            assert f["key"].startswith("governance:")
            out[f["key"].removeprefix("governance:")] = f
    return out


def check(srv: Server, as_of: datetime) -> dict[str, dict[str, Any]]:
    """The server's governance findings at as_of, checked whole against expected_findings."""
    got = governance(srv, as_of)
    have = {k: (f["reason"], datetime.fromisoformat(f["since"])) for k, f in got.items()}
    assert have == expected_findings(SENT, as_of), f"as of {rfc3339(as_of)}"
    return got


def test_unregistered_flow_and_source_system_for_the_24_hours_after_their_last_span(srv: Server):
    assert "flow/shadow-sync" not in check(srv, U - MS)
    for at in (U, U + timedelta(hours=12), U + WINDOW - MS):
        got = check(srv, at)
        flow, source = got["flow/shadow-sync"], got["source_system/excel-macro"]
        assert flow["reason"] == source["reason"] == "unregistered_flow"
        assert flow["since"] == source["since"] == rfc3339(U)
        assert flow["flow"] == "shadow-sync" and source["flow"] is None
        assert flow["owner"] == "integration-governance" and flow["severity"] == "warning"
        assert (
            "source system excel-macro is not registered: 1 event in the last 24 h"
            in source["summary"]
        )
    # The window is (T - 24 h, T]: at T = span + 24 h the span has left it.
    got = check(srv, U + WINDOW)
    assert "flow/shadow-sync" not in got and "source_system/excel-macro" not in got
    # A registered source system sending is no finding.
    assert not any(k.startswith("source_system/erp") for k in got)


def test_low_correlation_coverage_below_95_percent_of_at_least_20_spans(srv: Server):
    # edi-asn: 19 of 20 spans carry a correlation ID, exactly 95 %: no finding.
    assert "flow/edi-asn" not in check(srv, C + timedelta(minutes=19))
    # One more span without: 19 of 21, below 95 %.
    got = check(srv, C + timedelta(minutes=20))
    finding = got["flow/edi-asn"]
    assert finding["reason"] == "low_correlation_coverage"
    assert finding["owner"] == "edi-team" and finding["details"]["correlated"] == "19"
    # edi-inv: no span carries one, but 19 spans are too few to judge; the 20th is enough.
    assert "flow/edi-inv" not in check(srv, D + timedelta(minutes=18))
    assert check(srv, D + timedelta(minutes=19))["flow/edi-inv"]["reason"] == (
        "low_correlation_coverage"
    )


def test_deprecated_api_while_a_deprecated_version_was_called_in_the_last_24_hours(srv: Server):
    # /api/v10/items is v10, not the deprecated v1.
    assert "flow/erp-po" not in check(srv, P - MS)
    for at in (P, P + WINDOW - MS):
        finding = check(srv, at)["flow/erp-po"]
        assert finding["reason"] == "deprecated_api" and finding["since"] == rfc3339(P)
        assert finding["details"]["deprecated_versions"] == "v1"
        assert finding["owner"] == "erp-integration"
    assert "flow/erp-po" not in check(srv, P + WINDOW)


def test_stale_flow_once_its_stale_days_have_passed_without_a_span(srv: Server):
    # legacy-fax: its last span at S, stale_days 2: silent for exactly 2 days is not stale.
    assert "flow/legacy-fax" not in check(srv, S + 2 * DAY)
    finding = check(srv, S + 2 * DAY + MS)["flow/legacy-fax"]
    assert finding["reason"] == "stale_flow" and finding["since"] == rfc3339(S + 2 * DAY)
    assert finding["severity"] == "info" and finding["owner"] == "supply-it"
    # never-seen sent nothing: counted from the first span rxsight holds (B), stale_days 3.
    assert "flow/never-seen" not in check(srv, B + 3 * DAY)
    finding = check(srv, B + 3 * DAY + MS)["flow/never-seen"]
    assert finding["reason"] == "stale_flow" and finding["since"] == rfc3339(B + 3 * DAY)
    assert "never seen" in finding["summary"]


def test_governed_workflow_share_counts_registered_flows_only(srv: Server):
    start, end = B, B + timedelta(hours=6)
    query = urlencode({"from": rfc3339(start), "to": rfc3339(end), "as_of": rfc3339(end)})
    status, body = srv.request("GET", f"/api/kpis?{query}", token=TOKEN)
    assert status == 200
    (row,) = [r for r in body["rows"] if r["kpi"] == "governed_workflow_share"]
    spans = [s for s in SENT if s.kind == "flow" and start <= s.at < end]
    governed = [s for s in spans if s.correlation_id and s.name in FLOWS]
    assert (row["numerator"], row["denominator"]) == (len(governed), len(spans))
    assert row["value"] == pytest.approx(len(governed) / len(spans))
    # shadow-sync's span carries a correlation ID, yet is not governed: it is not registered.
    assert any(s.name == "shadow-sync" and s.correlation_id for s in spans)


def expected_portfolio(as_of: datetime, days: float) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> what the catalog should say, from what the test sent and configured."""
    start = as_of - timedelta(days=days)
    status = expected_findings(SENT, as_of)
    out = {}
    for kind, config in (("flow", FLOWS), ("source_system", SOURCES)):
        for name in {s.name for s in SENT if s.kind == kind and s.at <= as_of} | set(config):
            seen = [s for s in SENT if s.kind == kind and s.name == name and s.at <= as_of]
            period = [s for s in seen if start < s.at]
            errors = sum(1 for s in period if s.error)
            cfg = config.get(name, {})
            out[(kind, name)] = {
                "owner": cfg.get("owner"),
                "tier": (cfg.get("tier") or 3) if kind == "flow" else None,
                "registered": name in config,
                "status": status.get(f"{kind}/{name}", ("ok",))[0],
                "first_seen": rfc3339(min(s.at for s in seen)) if seen else None,
                "last_seen": rfc3339(max(s.at for s in seen)) if seen else None,
                "volume": len(period),
                "errors": errors if kind == "flow" else None,
                "error_rate": errors / len(period) if period and kind == "flow" else None,
                "correlation_coverage": (
                    sum(1 for s in period if s.correlation_id) / len(period) if period else None
                ),
                "api_versions": dict(Counter(s.version for s in period if s.version)),
            }
    return out


def test_the_portfolio_lists_every_flow_and_source_system_with_its_facts(srv: Server):
    as_of = B + DAY  # the period (B, B + 1 day]: erp-po's first span, at B, is just outside
    status, body = srv.request("GET", f"/api/portfolio?as_of={rfc3339(as_of)}&days=1", token=TOKEN)
    assert status == 200, body
    assert (body["as_of"], body["from"]) == (rfc3339(as_of), rfc3339(B))
    have = {
        (e["kind"], e["name"]): {
            **{k: e[k] for k in ("owner", "tier", "registered", "status", "first_seen")},
            **{k: e[k] for k in ("last_seen", "volume", "errors", "error_rate")},
            "correlation_coverage": e["correlation_coverage"],
            "api_versions": {v["version"]: v["calls"] for v in e["api_versions"]},
        }
        for e in body["entries"]
    }
    want = expected_portfolio(as_of, 1)
    assert set(have) == set(want)
    for key, entry in want.items():
        got = have[key]
        for field in ("error_rate", "correlation_coverage"):
            if entry[field] is not None:
                assert got.pop(field) == pytest.approx(entry.pop(field), abs=1e-6), key
        assert got == entry, key
    erp = next(e for e in body["entries"] if e["name"] == "erp-po")
    assert [(v["version"], v["deprecated"]) for v in erp["api_versions"]] == [
        ("v1", True),
        ("v10", False),
    ]
    assert have[("flow", "never-seen")]["first_seen"] is None
    status, _ = srv.request("GET", "/api/portfolio?days=0", token=TOKEN)
    assert status == 422


@pytest.mark.parametrize(
    ("as_of", "days"),
    [
        (C + timedelta(minutes=20), 10 / 1440),  # inside one hour: no whole hour at all
        (D + timedelta(minutes=19, seconds=30), 1 / 24),  # one hour, not on the hour
        (S + DAY, 5),  # reaching back past the first span
    ],
)
def test_the_portfolio_period_counts_to_the_millisecond(
    srv: Server, as_of: datetime, days: float
) -> None:
    query = urlencode({"as_of": rfc3339(as_of), "days": days})
    status, body = srv.request("GET", f"/api/portfolio?{query}", token=TOKEN)
    assert status == 200, body
    want = expected_portfolio(as_of, days)
    have = {(e["kind"], e["name"]): e["volume"] for e in body["entries"]}
    assert have == {key: entry["volume"] for key, entry in want.items()}


def test_the_portfolio_downloads_as_csv_and_xlsx(srv: Server, tmp_path):
    as_of = rfc3339(B + DAY)
    _, body = srv.request("GET", f"/api/portfolio?as_of={as_of}&days=1", token=TOKEN)
    entries = {e["name"]: e for e in body["entries"]}
    status, text = srv.request("GET", f"/portfolio?as_of={as_of}&days=1&format=csv", token=TOKEN)
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows] == [e["name"] for e in body["entries"]]
    fax = next(r for r in rows if r["name"] == "legacy-fax")
    assert (fax["kind"], fax["owner"], fax["registered"]) == ("flow", "supply-it", "True")
    assert fax["last_seen"] == entries["legacy-fax"]["last_seen"]
    assert next(r for r in rows if r["name"] == "erp-po")["api_versions"] == (
        "v1 (1, deprecated), v10 (1)"
    )
    status, data = srv.request("GET", f"/portfolio?as_of={as_of}&days=1&format=xlsx", token=TOKEN)
    assert status == 200
    (tmp_path / "p.xlsx").write_bytes(data)
    book = openpyxl.load_workbook(tmp_path / "p.xlsx")
    sheet = book["portfolio"]
    header = [c.value for c in sheet[1]]
    by_name = {
        r[header.index("name")]: dict(zip(header, r, strict=True))
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert set(by_name) == set(entries)
    asn = by_name["edi-asn"]
    assert asn["volume"] == entries["edi-asn"]["volume"] == 21
    assert asn["correlation_coverage"] == pytest.approx(19 / 21, abs=1e-6)
    assert asn["registered"] is True and by_name["shadow-sync"]["registered"] is False
    assert book["About"]["B1"].value == as_of
    # Each download is in the audit log.
    _, audit = srv.request("GET", "/api/audit?action=console.download", token=TOKEN)
    formats = {i["detail"]["format"] for i in audit["items"] if "/portfolio" in i["object_id"]}
    assert formats == {"csv", "xlsx"}
