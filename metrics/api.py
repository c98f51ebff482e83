"""HTTP API of the KPIs: GET /api/kpis (DESIGN 7a) and GET /api/kpis/export."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from metrics.api_models import Kpis, MonthEndReport
from metrics.exports import MEDIA_TYPES, build_report, render, render_month_end
from metrics.kpis import compute
from metrics.month_end import month_end
from metrics.periods import KINDS, Period, last_completed, parse_at
from rxsight.auth import Principal, require
from rxsight.model import QueryInstant
from rxsight.openapi import error_responses
from rxsight.timeutil import rfc3339, utcnow

router = APIRouter(prefix="/api", tags=["kpis"], responses=error_responses(401, 403))


def period_bounds(
    start: datetime, end: datetime | None, as_of: datetime | None
) -> tuple[datetime, datetime, datetime]:
    """`as_of` defaults to now and `to` to `as_of`; `from` must come before `to`."""
    when = as_of or utcnow()
    stop = end or when
    if start >= stop:
        # The documented 422 shape, naming the field, as a bad instant gets.
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "from"),
                    "msg": f"from ({rfc3339(start)}) must be before to ({rfc3339(stop)})",
                    "input": rfc3339(start),
                }
            ]
        )
    return start, stop, when


@router.get(
    "/kpis",
    operation_id="getKpis",
    response_model_exclude_unset=True,
    summary="KPI rows for [from, to) as of an instant: one per KPI and group (DESIGN 7a)",
)
def get_kpis(
    request: Request,
    start: QueryInstant = Query(alias="from", description="RFC 3339: the period's start"),
    end: QueryInstant | None = Query(None, alias="to", description="RFC 3339; default as_of"),
    as_of: QueryInstant | None = Query(None, description="RFC 3339; default now"),
    _: Principal = Depends(require("viewer")),
) -> Kpis:
    start, end, when = period_bounds(start, end, as_of)
    runtime = request.app.state.runtime
    rows = compute(runtime.store, runtime.settings, start, end, when)
    return {
        "from": rfc3339(start),
        "to": rfc3339(end),
        "as_of": rfc3339(when),
        "rows": [r.as_json() for r in rows],
    }


_FILE = {"type": "string", "format": "binary"}


def period_from_query(kind: str, at: str | None, when: datetime) -> Period:
    """`at` names the period (2026-11, 2026-W47, 2026-11-20); without it, the latest one that
    has ended by `when` (UTC calendar)."""
    try:
        return parse_at(kind, at) if at else last_completed(kind, when)
    except ValueError as exc:
        field = "at" if kind in KINDS else "period"
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", field), "msg": str(exc), "input": at or kind}]
        ) from None


@router.get(
    "/kpis/export",
    operation_id="exportKpis",
    summary="KPI report of a calendar period beside the previous one (xlsx, csv, parquet, json)",
    response_class=Response,
    responses={
        200: {
            "content": {
                t: {"schema": {"type": "object"} if f == "json" else _FILE}
                for f, t in MEDIA_TYPES.items()
            },
            "description": "The report, as an attachment",
        }
    },
)
def get_kpis_export(
    request: Request,
    period: Literal["day", "week", "month"] = Query("month"),
    at: str | None = Query(
        None, max_length=10, description="2026-11 (month), 2026-W47 (ISO week), 2026-11-20 (day)"
    ),
    format: Literal["xlsx", "csv", "parquet", "json"] = Query("xlsx"),
    as_of: QueryInstant | None = Query(None, description="RFC 3339; default now"),
    _: Principal = Depends(require("viewer")),
) -> Response:
    when = as_of or utcnow()
    chosen = period_from_query(period, at, when)
    runtime = request.app.state.runtime
    report = build_report(runtime.store, runtime.settings, chosen, when)
    return Response(
        render(report, format),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{report.filename(format)}"'},
    )


@router.get(
    "/reconciliation/month-end",
    operation_id="getMonthEnd",
    response_model=MonthEndReport,
    summary="Every goods receipt of a month: received, booked and journaled, differences first",
    responses={
        200: {
            "content": {"text/csv": {"schema": _FILE}, MEDIA_TYPES["xlsx"]: {"schema": _FILE}},
            "description": "The month's receipts (JSON), or their export (format=csv, xlsx)",
        }
    },
)
def get_month_end(
    request: Request,
    month: str | None = Query(
        None, max_length=7, description="2026-11; default the last month ended by as_of"
    ),
    format: Literal["json", "csv", "xlsx"] = Query("json"),
    as_of: QueryInstant | None = Query(None, description="RFC 3339; default now"),
    _: Principal = Depends(require("viewer")),
) -> Any:
    when = as_of or utcnow()
    try:
        chosen = parse_at("month", month) if month else last_completed("month", when)
    except ValueError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "month"), "msg": str(exc), "input": month}]
        ) from None
    runtime = request.app.state.runtime
    result = month_end(runtime.store, runtime.settings, chosen, when)
    if format != "json":
        return Response(
            render_month_end(result, format),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{result.filename(format)}"'},
        )
    start, end = chosen.bounds()
    return {
        "month": chosen.label,
        "from": rfc3339(start),
        "to": rfc3339(end),
        "as_of": rfc3339(result.as_of),
        "receipts": len(result.rows),
        "differing": result.differing,
        "rows": [r.as_json() for r in result.rows],
    }
