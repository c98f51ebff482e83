"""KPI exports against a live rxsight: XLSX (written by XlsxWriter, read here with openpyxl),
CSV and Parquet in long form, JSON; the CLI and GET /api/kpis/export; site time zones."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from metrics.definitions import kpi_defs
from tests.support import Server, rxsight_cli

TOKEN = "kpi-export-admin-token-0123456789"


def _receipt(rid: str, site: str, received: str, posted: str) -> list[dict]:
    common = {
        "correlation_id": f"C-{rid}",
        "source_system": "erp",
        "site": site,
        "receipt_id": rid,
        "po_number": f"PO-{rid}",
    }
    return [
        {
            **common,
            "event_id": f"{rid}-gr",
            "event_type": "goods.received",
            "occurred_at": received,
            "lines": [{"line_no": 1, "item_id": "ITEM-1", "quantity": 1}],
        },
        {**common, "event_id": f"{rid}-rp", "event_type": "receipt.posted", "occurred_at": posted},
    ]


@pytest.fixture(scope="module")
def live() -> Iterator[Server]:
    srv = Server({"sites": {"east": {"timezone": "America/New_York"}}}, admin_token=TOKEN).start()
    events = [
        # October (UTC and New York): 10 minutes to post.
        *_receipt("R-OCT", "west", "2026-10-10T10:00:00Z", "2026-10-10T10:10:00Z"),
        # November: 20 minutes.
        *_receipt("R-NOV", "west", "2026-11-10T10:00:00Z", "2026-11-10T10:20:00Z"),
        # Posted 2026-11-01 02:00 UTC = 2026-10-31 22:00 in New York: November for the
        # whole system, October for site east.
        *_receipt("R-EDGE", "east", "2026-11-01T01:30:00Z", "2026-11-01T02:00:00Z"),
    ]
    try:
        status, body = srv.request("POST", "/v1/events", events)
        assert status == 200 and body["accepted"] == len(events), body
        srv.wait_for(
            lambda: srv.request(
                "GET", "/api/kpis?from=2026-10-01T00:00:00Z&to=2026-12-01T00:00:00Z"
            )[1]["rows"],
            timeout=10,
        )
        yield srv
    finally:
        srv.cleanup()


def _export(srv: Server, tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"kpis.{fmt}"
    result = rxsight_cli(
        "kpis",
        "export",
        "--period",
        "month",
        "--at",
        "2026-11",
        "--format",
        fmt,
        "--out",
        str(out),
        "--url",
        srv.url,
        "--token",
        TOKEN,
        *extra,
    )
    assert result.returncode == 0, result.stderr
    return out


def test_xlsx_has_a_sheet_per_grouping_previous_and_change_and_definitions(
    live: Server, tmp_path: Path
) -> None:
    book = openpyxl.load_workbook(_export(live, tmp_path, "xlsx"))
    assert {"System", "Site", "Definitions"} <= set(book.sheetnames)
    system = list(book["System"].iter_rows(values_only=True))
    assert system[0][:5] == ("KPI", "Title", "Value 2026-11", "Previous 2026-10", "Change")
    row = next(r for r in system if r[0] == "receipt_posting_latency_minutes_p95")
    # November: 20 min and 30 min (R-EDGE); nearest-rank p95 of two is the larger.
    assert row[2:5] == (30, 10, 20)
    site = {(r[0], r[2]): r for r in book["Site"].iter_rows(min_row=2, values_only=True)}
    # east on New York's calendar: R-EDGE falls in October there, so no November row.
    assert ("receipt_posting_latency_minutes_p95", "east") not in site
    west = site[("receipt_posting_latency_minutes_p95", "west")]
    assert west[3:6] == (20, 10, 10)
    definitions = list(book["Definitions"].iter_rows(values_only=True))
    assert definitions[0][:6] == ("name", "title", "unit", "definition", "numerator", "denominator")
    names = {r[0] for r in definitions[1:] if r[0]}
    assert {d.name for d in kpi_defs()} <= names
    assert all(r[3] for r in definitions[1 : len(kpi_defs()) + 1])


def test_csv_and_parquet_are_long_form_with_both_periods(live: Server, tmp_path: Path) -> None:
    text = _export(live, tmp_path, "csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["kpi", "group", "period", "value", "numerator", "denominator", "n"]
    latency = {
        (r["group"], r["period"]): r
        for r in rows
        if r["kpi"] == "receipt_posting_latency_minutes_p95"
    }
    assert float(latency[("", "2026-11")]["value"]) == 30
    assert latency[("", "2026-11")]["n"] == "2"
    assert float(latency[("site=east", "2026-10")]["value"]) == 30
    table = pq.read_table(_export(live, tmp_path, "parquet"))
    assert table.column_names == list(rows[0])
    assert table.num_rows == len(rows)
    assert str(table.schema.field("value").type) == "double"


def test_json_and_the_api_answer_the_same_report(live: Server) -> None:
    status, body = live.request("GET", "/api/kpis/export?period=month&at=2026-11&format=json")
    assert status == 200
    assert (body["period"], body["previous_period"]) == ("2026-11", "2026-10")
    row = next(
        r
        for r in body["rows"]
        if r["kpi"] == "receipt_posting_latency_minutes_p95" and r["group"] == {}
    )
    assert (row["value"], row["previous"], row["change"], row["n"]) == (30, 10, 20, 2)
    assert len(body["definitions"]) == len(kpi_defs())


def test_bad_period_is_refused_naming_the_field(live: Server, tmp_path: Path) -> None:
    status, body = live.request("GET", "/api/kpis/export?period=month&at=2026-13")
    assert status == 422 and body["detail"][0]["loc"] == ["query", "at"]
    result = rxsight_cli(
        "kpis",
        "export",
        "--period",
        "week",
        "--at",
        "2026-11",
        "--format",
        "xlsx",
        "--out",
        str(tmp_path / "x.xlsx"),
        "--url",
        live.url,
        "--token",
        TOKEN,
    )
    assert result.returncode == 2
    assert "at" in result.stderr and "2026-W47" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()
