"""One trace as a waterfall of its spans, with their attributes and events."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from rxsight.auth import Principal
from web import data
from web.deps import ConsoleError, console_user, render, store_of
from web.timecontrol import time_view
from web.waterfall import waterfall

router = APIRouter()


@router.get("/traces/{trace_id}", response_class=HTMLResponse)
def trace_page(
    request: Request,
    trace_id: str,
    as_of: str | None = None,
    principal: Principal = Depends(console_user("viewer")),
) -> HTMLResponse:
    # The spans begun by the instant.
    tc = time_view(request, as_of, refresh=False)
    found = data.attempt("The trace", data.trace_spans, store_of(request), trace_id, tc.when)
    if found.error:
        raise ConsoleError(503, found.error)
    spans, total_ms = waterfall(found.value or [])
    if not spans:
        raise ConsoleError(
            404,
            f"No spans of trace {trace_id!r}.",
            hint="Spans are kept 30 days; the trace ID may also have been mistyped.",
        )
    correlation = next((s.correlation_id for s in spans if s.correlation_id), "")
    return render(
        request,
        "trace.html",
        {
            "trace_id": trace_id,
            "spans": spans,
            "total_ms": total_ms,
            "correlation_id": correlation,
            "errors": sum(1 for s in spans if s.error),
            "tc": tc,
        },
        principal=principal,
    )
