"""HTTP API of the KPIs: GET /api/kpis (DESIGN 7a)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError

from metrics.kpis import compute
from rxsight.auth import Principal, require
from rxsight.model import QueryInstant
from rxsight.timeutil import rfc3339, utcnow

router = APIRouter(prefix="/api", tags=["kpis"])


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
    summary="KPI rows for [from, to) as of an instant: one per KPI and group (DESIGN 7a)",
)
def get_kpis(
    request: Request,
    start: QueryInstant = Query(alias="from", description="RFC 3339: the period's start"),
    end: QueryInstant | None = Query(None, alias="to", description="RFC 3339; default as_of"),
    as_of: QueryInstant | None = Query(None, description="RFC 3339; default now"),
    _: Principal = Depends(require("viewer")),
) -> dict[str, Any]:
    start, end, when = period_bounds(start, end, as_of)
    runtime = request.app.state.runtime
    rows = compute(runtime.store, runtime.settings, start, end, when)
    return {
        "from": rfc3339(start),
        "to": rfc3339(end),
        "as_of": rfc3339(when),
        "rows": [r.as_json() for r in rows],
    }
