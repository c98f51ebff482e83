"""Console rendering: the Jinja2 environment, its filters (site time zones, ages, numbers)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from rxsight.auth import Principal
from rxsight.config import Settings
from rxsight.timeutil import as_utc, parse_rfc3339, utcnow

TEMPLATES_DIR = Path(__file__).parent / "templates"

templates = Jinja2Templates(directory=TEMPLATES_DIR)

# The navigation, in order: (path, label, least role). Alerts appear only when the stage
# exists (see `nav_items`).
NAV = (
    ("/", "Overview", "viewer"),
    ("/exceptions", "Exceptions", "viewer"),
    ("/transactions", "Transactions", "viewer"),
    ("/flows", "Flows", "viewer"),
    ("/portfolio", "Portfolio", "viewer"),
    ("/replenishments", "Replenishments", "viewer"),
    ("/kpis", "KPIs", "viewer"),
    ("/reconciliation", "Month end", "viewer"),
    ("/rules", "Rules", "viewer"),
    ("/masterdata", "Master data", "viewer"),
    ("/alerts", "Alerts", "viewer"),
    ("/audit", "Audit log", "admin"),
)


def to_datetime(value: Any) -> datetime | None:
    """Store rows carry datetimes; JSON-shaped rows carry RFC 3339 strings."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return parse_rfc3339(str(value))
    except ValueError:
        return None


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def site_zone(settings: Settings, site: str | None) -> ZoneInfo:
    cfg = settings.config.sites.get(site or "")
    return _zone(cfg.timezone if cfg else "UTC")


def site_label(settings: Settings, site: str | None) -> str:
    if not site:
        return "—"
    cfg = settings.config.sites.get(site)
    return (cfg.name if cfg and cfg.name else None) or site


def format_time(
    settings: Settings, value: Any, site: str | None = None, *, seconds: bool = False
) -> Markup:
    """A <time> element in the site's zone (UTC when the site is unknown), UTC on hover."""
    dt = to_datetime(value)
    if dt is None:
        return Markup('<span class="muted">—</span>')
    zone = site_zone(settings, site)
    local = dt.astimezone(zone)
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    utc = dt.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{iso}" title="{utc}">{local} {tz}</time>').format(
        iso=dt.isoformat().replace("+00:00", "Z"),
        utc=utc,
        local=local.strftime(fmt),
        tz=local.tzname() or zone.key,
    )


def format_age(value: Any, now: datetime | None = None) -> str:
    """How long ago, coarse: 45 s, 12 min, 5 h 10 min, 3 d 4 h."""
    dt = to_datetime(value)
    if dt is None:
        return "—"
    seconds = int(((now or utcnow()) - dt).total_seconds())
    if seconds < 0:
        return "in the future"
    return _coarse(seconds)


def format_duration_ms(value: Any) -> str:
    if value is None:
        return "—"
    ms = float(value)
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    if ms < 7_200_000:
        return f"{ms / 60_000:.1f} min"
    return f"{ms / 3_600_000:.1f} h"


def format_number(value: Any, places: int | None = None) -> str:
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if places is not None:
        return f"{number:,.{places}f}"
    normal = number.normalize()
    # Quantities: no trailing zeros, no exponent notation for round numbers.
    text = format(normal, "f")
    if "." in text:
        whole, frac = text.split(".")
        return f"{int(whole):,}.{frac}" if whole.lstrip("-").isdigit() else text
    return f"{int(normal):,}"


def format_percent(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.1f} %"


def _coarse(seconds: float) -> str:
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def due_pill(state: str | None, due: Any, now: datetime | None = None) -> Markup:
    """An SLA clock's state as a pill: "overdue 12 min", "due in 40 min", "met"."""
    when = to_datetime(due)
    if not state or state == "none" or when is None and state != "met":
        return Markup('<span class="muted">no SLA</span>')
    if state == "met":
        return Markup('<span class="pill due-met">met</span>')
    left = (when - (now or utcnow())).total_seconds()
    text = f"overdue {_coarse(left)}" if state == "overdue" else f"due in {_coarse(left)}"
    return Markup('<span class="pill due-{state}" title="{iso}">{text}</span>').format(
        state=state, iso=when.isoformat().replace("+00:00", "Z"), text=text
    )


def humanize(value: Any) -> str:
    """`unmatched_invoice` → `unmatched invoice`, for labels built from identifiers."""
    return str(value or "").replace("_", " ")


# The time control's parameters (web/timecontrol.py): every link between pages keeps them.
TIME_PARAMS = ("as_of", "range")


def time_query(request: Request, lead: str = "?") -> str:
    """`?as_of=…&range=…` of the current page (empty when live), for links to other pages;
    lead "&" to append to a link that has a query already."""
    kept = {k: request.query_params[k] for k in TIME_PARAMS if request.query_params.get(k)}
    return lead + urlencode(kept) if kept else ""


def nav_items(request: Request, principal: Principal | None) -> list[tuple[str, str, bool]]:
    if principal is None:
        return []
    has_alerts = alerts_available(request)
    path = request.url.path
    keep = time_query(request)
    out = []
    for href, label, role in NAV:
        if href == "/alerts" and not has_alerts:
            continue
        if not principal.can(role):
            continue
        current = path == href if href == "/" else path.startswith(href)
        out.append((href + keep, label, current))
    return out


def alerts_available(request: Request) -> bool:
    """The alerts page shows when the alerts stage runs in this app (it then serves
    /api/alerts, which the page reads)."""
    runtime = getattr(request.app.state, "runtime", None)
    return runtime is not None and runtime.alerts is not None


def page_link(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters replaced (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def _register() -> None:
    env = templates.env
    env.filters["age"] = format_age
    env.filters["duration_ms"] = format_duration_ms
    env.filters["num"] = format_number
    env.filters["pct"] = format_percent
    env.filters["human"] = humanize
    env.globals["page_link"] = page_link
    env.globals["time_query"] = time_query
    env.globals["due_pill"] = due_pill
    env.globals["sla_due"] = lambda row: due_pill(row.get("due_state"), row.get("next_due"))
    env.globals["escape"] = escape


_register()
