"""KPI reports of a calendar period beside the previous one, as XLSX, CSV, Parquet or JSON."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from metrics.definitions import DIMENSIONS, KpiDef, kpi_defs
from metrics.kpis import Compared, KpiRow, compute_periods, with_previous
from metrics.month_end import COLUMNS as MONTH_END_COLUMNS
from metrics.month_end import MonthEnd
from metrics.periods import Period
from rxsight.config import Settings
from rxsight.spreadsheets import inert_text
from rxsight.store import Store
from rxsight.timeutil import rfc3339

FORMATS = ("xlsx", "csv", "parquet", "json")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
}
LONG_COLUMNS = ("kpi", "group", "period", "value", "numerator", "denominator", "n")
SHEET_NAMES = {
    "": "System",
    "site": "Site",
    "supplier_id": "Supplier",
    "priority": "Priority",
    "flow": "Flow",
    "tier": "Tier",
    "reason": "Reason",
    "family": "Family",
}


@dataclass(frozen=True)
class KpiReport:
    period: Period
    as_of: datetime
    rows: list[Compared]
    previous_rows: list[KpiRow]

    @property
    def previous(self) -> Period:
        return self.period.previous()

    def filename(self, fmt: str) -> str:
        return f"rxsight-kpis-{self.period.kind}-{self.period.label}.{fmt}"


def build_report(store: Store, settings: Settings, period: Period, as_of: datetime) -> KpiReport:
    before, current = compute_periods(store, settings, [period.previous(), period], as_of)
    return KpiReport(period, as_of, with_previous(current, before), before)


def group_text(row: KpiRow) -> str:
    """A group as one cell: "" for the whole system, else "dimension=key"."""
    return "" if not row.group else f"{row.group[0][0]}={row.group[0][1]}"


def long_rows(report: KpiReport) -> list[dict[str, Any]]:
    """Long form: one row per KPI, group and period (the period, then the previous one)."""
    out = []
    for label, rows in (
        (report.period.label, [c.row for c in report.rows]),
        (report.previous.label, report.previous_rows),
    ):
        for r in rows:
            out.append(
                {
                    "kpi": r.kpi,
                    "group": group_text(r),
                    "period": label,
                    "value": r.value,
                    "numerator": r.numerator,
                    "denominator": r.denominator,
                    "n": r.n,
                }
            )
    return out


def render(report: KpiReport, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return _RENDERERS[fmt](report)


def _csv(report: KpiReport) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LONG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in long_rows(report):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue().encode()


def _parquet(report: KpiReport) -> bytes:
    rows = long_rows(report)
    schema = pa.schema(
        [
            ("kpi", pa.string()),
            ("group", pa.string()),
            ("period", pa.string()),
            ("value", pa.float64()),
            ("numerator", pa.float64()),
            ("denominator", pa.float64()),
            ("n", pa.int64()),
        ]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _json(report: KpiReport) -> bytes:
    body = {
        "period": report.period.label,
        "kind": report.period.kind,
        "previous_period": report.previous.label,
        "as_of": rfc3339(report.as_of),
        "rows": [
            {
                **c.row.as_json(),
                "previous": None if c.previous is None else c.previous.value,
                "change": c.change,
            }
            for c in report.rows
        ],
        "definitions": [_definition(d) for d in kpi_defs()],
    }
    return json.dumps(body, indent=1).encode()


def _definition(d: KpiDef) -> dict[str, str]:
    return {
        "name": d.name,
        "title": d.title,
        "unit": d.unit,
        "definition": d.definition,
        "numerator": d.numerator,
        "denominator": d.denominator,
    }


def _xlsx(report: KpiReport) -> bytes:
    """One sheet per grouping with the previous period and the change beside each value, and
    a Definitions sheet. XlsxWriter: it writes the file in one pass (no reading back)."""
    sink = io.BytesIO()
    book = xlsxwriter.Workbook(sink, {"in_memory": True})
    bold = book.add_format({"bold": True})
    formats = {
        "ratio": book.add_format({"num_format": "0.0%"}),
        "change_ratio": book.add_format({"num_format": "+0.0%;-0.0%;0.0%"}),
        "other": book.add_format({"num_format": "0.00"}),
        "change_other": book.add_format({"num_format": "+0.00;-0.00;0.00"}),
    }
    units = {d.name: d.unit for d in kpi_defs()}
    titles = {d.name: d.title for d in kpi_defs()}
    for dim in DIMENSIONS:
        rows = [c for c in report.rows if (c.row.group[0][0] if c.row.group else "") == dim]
        if not rows:
            continue
        sheet = book.add_worksheet(SHEET_NAMES[dim])
        header = ["KPI", "Title"]
        header += [dim] if dim else []
        header += [
            f"Value {report.period.label}",
            f"Previous {report.previous.label}",
            "Change",
            "Numerator",
            "Denominator",
            "n",
            "Unit",
        ]
        sheet.write_row(0, 0, header, bold)
        for i, c in enumerate(rows, start=1):
            kind = "ratio" if units[c.row.kpi] == "ratio" else "other"
            cells: list[Any] = [c.row.kpi, titles[c.row.kpi]]
            cells += [c.row.group[0][1]] if dim else []
            col = len(cells)
            sheet.write_row(i, 0, cells)
            sheet.write_number(i, col, c.row.value, formats[kind])
            if c.previous is not None:
                sheet.write_number(i, col + 1, c.previous.value, formats[kind])
                sheet.write_number(i, col + 2, c.change, formats[f"change_{kind}"])
            for j, v in enumerate((c.row.numerator, c.row.denominator, c.row.n), start=3):
                if v is not None:
                    sheet.write_number(i, col + j, v)
            sheet.write_string(i, col + 6, units[c.row.kpi])
        sheet.set_column(0, 0, 36)
        sheet.set_column(1, 1, 40)
        sheet.freeze_panes(1, 0)
    sheet = book.add_worksheet("Definitions")
    columns = ("name", "title", "unit", "definition", "numerator", "denominator")
    sheet.write_row(0, 0, columns, bold)
    for i, d in enumerate(kpi_defs(), start=1):
        sheet.write_row(i, 0, [_definition(d)[c] for c in columns])
    sheet.write_row(
        len(kpi_defs()) + 2,
        0,
        [
            "period",
            report.period.label,
            "previous",
            report.previous.label,
            "as of",
            rfc3339(report.as_of) or "",
        ],
    )
    sheet.set_column(0, 0, 36)
    sheet.set_column(3, 3, 90)
    book.close()
    return sink.getvalue()


def table_xlsx(
    sheet_name: str,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    about: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A list as a workbook: one sheet of `rows` under a bold header of `columns` (numbers as
    numbers, booleans as booleans, anything else as text) and, when given, an About sheet of
    (name, value) lines. Text is written as text, never as a formula: a flow or system name
    starting with "=" must not run in someone's spreadsheet."""
    sink = io.BytesIO()
    book = xlsxwriter.Workbook(sink, {"in_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(sheet_name[:31])
    sheet.write_row(0, 0, list(columns), bold)
    widths = [len(c) for c in columns]
    for i, row in enumerate(rows, start=1):
        for j, column in enumerate(columns):
            value = row.get(column)
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_boolean(i, j, value)
            elif isinstance(value, int | float):
                sheet.write_number(i, j, value)
            else:
                text = rfc3339(value) if isinstance(value, datetime) else str(value)
                sheet.write_string(i, j, text)
                widths[j] = max(widths[j], min(len(text), 60))
    for j, width in enumerate(widths):
        sheet.set_column(j, j, width + 2)
    sheet.freeze_panes(1, 0)
    if about:
        notes = book.add_worksheet("About")
        for i, (name, value) in enumerate(about):
            notes.write_string(i, 0, name, bold)
            notes.write_string(i, 1, value)
        notes.set_column(0, 0, 20)
        notes.set_column(1, 1, 60)
    book.close()
    return sink.getvalue()


# ------------------------------------------------------------------ month-end reconciliation
MONTH_END_FORMATS = ("xlsx", "csv")
_MONEY_COLUMNS = frozenset(
    {
        "received_value",
        "booked_amount",
        "journaled_amount",
        "booked_difference",
        "journaled_difference",
    }
)


def render_month_end(month: MonthEnd, fmt: str) -> bytes:
    """Every receipt of the month, differences first: CSV (one header row) or XLSX (the list,
    amounts and quantities as numbers, and an About sheet: month, instant, counts)."""
    if fmt not in MONTH_END_FORMATS:
        raise ValueError(f"format must be one of {', '.join(MONTH_END_FORMATS)}, not {fmt!r}")
    rows = [r.as_json() for r in month.rows]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(MONTH_END_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    inert_text(v) if isinstance(v, str) else ("" if v is None else v)
                    for v in (row[c] for c in MONTH_END_COLUMNS)
                ]
            )
        return buf.getvalue().encode()
    return table_xlsx(
        f"Receipts {month.period.label}",
        MONTH_END_COLUMNS,
        ({k: _cell(k, v) for k, v in row.items()} for row in rows),
        about=[
            ("month", month.period.label),
            ("as of", rfc3339(month.as_of) or ""),
            ("receipts", str(len(rows))),
            ("differing", str(month.differing)),
        ],
    )


def _cell(column: str, value: Any) -> Any:
    """Amounts and quantities as numbers in a workbook (the JSON carries them as text)."""
    if value not in (None, "") and (column in _MONEY_COLUMNS or column.endswith("_quantity")):
        return float(value)
    return value


_RENDERERS: dict[str, Callable[[KpiReport], bytes]] = {
    "xlsx": _xlsx,
    "csv": _csv,
    "parquet": _parquet,
    "json": _json,
}


def write_atomically(path: Path, data: bytes) -> None:
    """The file appears whole or not at all: written beside it, synced, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
