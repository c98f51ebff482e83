"""The console's pages (server-rendered Jinja2 with htmx) and its static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from web.deps import ConsoleError, SignInRequired, console_error_page
from web.pages import (
    alerts,
    auth,
    exception_actions,
    exceptions,
    flows,
    kpis,
    lists,
    masterdata,
    overview,
    portfolio,
    reconciliation,
    traces,
    transactions,
)

router = APIRouter(include_in_schema=False)
# exception_actions before exceptions: /exceptions/bulk is not an exception id.
_PAGES = (
    auth,
    overview,
    exception_actions,
    exceptions,
    transactions,
    traces,
    flows,
    portfolio,
    alerts,
    lists,
    kpis,
    masterdata,
    reconciliation,
)
for _page in _PAGES:
    router.include_router(_page.router)

STATIC_DIR = Path(__file__).parent / "static"


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page links; the SVG serves both."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


def mount_static(app: FastAPI) -> None:
    """Serve /static (htmx, the stylesheet) and render console errors as pages: a missing
    session sends the browser to sign in, anything else gets a page that says what failed."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(ConsoleError, console_error_page)
    app.add_exception_handler(SignInRequired, console_error_page)
