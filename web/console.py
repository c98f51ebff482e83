"""The console's pages (server-rendered Jinja2 with htmx) and its static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from web.deps import ConsoleError, SignInRequired, console_error_page
from web.pages import alerts, auth, exceptions, flows, kpis, lists, overview, transactions

router = APIRouter(include_in_schema=False)
for _page in (auth, overview, exceptions, transactions, flows, alerts, lists, kpis):
    router.include_router(_page.router)

STATIC_DIR = Path(__file__).parent / "static"


def mount_static(app: FastAPI) -> None:
    """Serve /static (htmx, the stylesheet) and render console errors as pages: a missing
    session sends the browser to sign in, anything else gets a page that says what failed."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(ConsoleError, console_error_page)
    app.add_exception_handler(SignInRequired, console_error_page)
