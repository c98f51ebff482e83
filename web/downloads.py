"""Downloads of the console's lists: what a page shows, with its filters, as a CSV or XLSX
file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

import metrics.public as metrics_public
from rxsight import audit
from rxsight.auth import Principal
from rxsight.spreadsheets import inert_text
from rxsight.timeutil import jsonable, utcnow
from web.deps import store_of

MAX_ROWS = 10_000


def wants_csv(fmt: str) -> bool:
    return fmt.lower() == "csv"


def _cell(value: Any) -> Any:
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = "; ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, str):
        return inert_text(value)
    return value


def csv_response(
    request: Request,
    principal: Principal,
    name: str,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
) -> Response:
    """The rows as CSV (a header of `columns`), recorded in the audit log: a list leaving
    the console is worth knowing about."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
        count += 1
    return _download(request, principal, name, "csv", buf.getvalue().encode(), count)


def wants_xlsx(fmt: str) -> bool:
    return fmt.lower() == "xlsx"


def xlsx_response(
    request: Request,
    principal: Principal,
    name: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    about: Sequence[tuple[str, str]] = (),
) -> Response:
    """The rows as an XLSX workbook (the metrics stage writes it), audit-logged as CSV is."""
    data = metrics_public.table_xlsx(name, columns, [jsonable_row(r) for r in rows], about)
    return _download(request, principal, name, "xlsx", data, len(rows))


def jsonable_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Times as RFC 3339 and decimals as text; numbers and booleans stay what they are."""
    return {k: v if isinstance(v, bool | int | float) else jsonable(v) for k, v in row.items()}


_MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _download(
    request: Request, principal: Principal, name: str, fmt: str, data: bytes, count: int
) -> Response:
    query = str(request.url.query)
    audit.record(
        store_of(request),
        principal.name,
        "console.download",
        "list",
        f"{request.url.path}?{query}" if query else request.url.path,
        {"format": fmt, "rows": count},
    )
    stamp = _stamp(utcnow())
    return Response(
        data,
        media_type=_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="rxsight-{name}-{stamp}.{fmt}"'},
    )


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%SZ")
