"""The console's one time control: an instant to look at (`as_of`, typed as a person would)
and a relative range before it (`range`), the same on every page and kept in every link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import Request

from rxsight.config import Settings
from rxsight.timeutil import RANGES, parse_typed_instant, utcnow
from web.ui import site_zone


@dataclass(frozen=True)
class TimeView:
    text: str  # as typed, kept in the box even when it could not be read
    when: datetime | None  # None: now, the page is live
    range: str  # a key of RANGES, or "" for no range
    error: str | None
    zone: ZoneInfo
    refresh: bool  # the page offers auto-refresh (live list pages)

    @property
    def live(self) -> bool:
        return self.when is None

    @property
    def at(self) -> datetime:
        return self.when or utcnow()

    @property
    def window(self) -> timedelta | None:
        return RANGES.get(self.range)

    @property
    def since(self) -> datetime | None:
        """The start of the range before the instant; None without a range."""
        return self.at - self.window if self.window else None

    @property
    def ranges(self) -> dict[str, timedelta]:
        return RANGES

    @property
    def local(self) -> str:
        """The instant in the zone times are typed in, zone shown."""
        return self.at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z")

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("as_of", self.text), ("range", self.range)) if v}


def home_zone(settings: Settings, site: str | None = None) -> ZoneInfo:
    """The zone typed times are read in: the chosen site's, else the first configured
    site's (a single-region deployment's zone), else UTC."""
    sites = settings.config.sites
    return site_zone(settings, site if site in sites else next(iter(sites), None))


def time_view(
    request: Request,
    as_of: str | None,
    range_: str | None = None,
    *,
    site: str | None = None,
    refresh: bool = True,
) -> TimeView:
    settings: Settings = request.app.state.settings
    zone = home_zone(settings, site)
    text = (as_of or "").strip()
    errors = []
    when = None
    if text and text.lower() != "now":
        try:
            when = parse_typed_instant(text, zone)
        except ValueError as exc:
            errors.append(f"as of: {exc}; showing now instead")
    chosen = (range_ or "").strip()
    if chosen and chosen not in RANGES:
        errors.append(f"range: {chosen!r} is not one of {', '.join(RANGES)}")
        chosen = ""
    return TimeView(text, when, chosen, "; ".join(errors) or None, zone, refresh and when is None)
