"""CSV downloads of the console's lists: what a page shows, with its filters, as a file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

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
    query = str(request.url.query)
    audit.record(
        store_of(request),
        principal.name,
        "console.download",
        "list",
        f"{request.url.path}?{query}" if query else request.url.path,
        {"format": "csv", "rows": count},
    )
    stamp = _stamp(utcnow())
    return Response(
        buf.getvalue().encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rxsight-{name}-{stamp}.csv"'},
    )


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%SZ")
