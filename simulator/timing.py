"""Time arithmetic of the simulated world: durations, local working hours, diurnal volume."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from simulator.rand import Rng

# Relative replenishment volume by local hour: night shift low, morning med-pass peak.
_DIURNAL = (
    0.35, 0.3, 0.3, 0.3, 0.35, 0.45, 0.7, 1.2, 1.6, 1.7, 1.6, 1.4,
    1.2, 1.3, 1.5, 1.5, 1.3, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4,
)  # fmt: skip
DIURNAL_MAX = max(_DIURNAL)
DIURNAL_MEAN = sum(_DIURNAL) / len(_DIURNAL)


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def diurnal(t: datetime, tz: str) -> float:
    return _DIURNAL[t.astimezone(zone(tz)).hour]


def seconds(rng: Rng, median_s: float, sigma: float = 0.5) -> timedelta:
    """A log-normal duration: most calls near the median, a long tail."""
    return timedelta(seconds=median_s * math.exp(rng.gauss(0, sigma)))


def hours(rng: Rng, lo: float, hi: float) -> timedelta:
    return timedelta(hours=rng.uniform(lo, hi))


def minutes(rng: Rng, lo: float, hi: float) -> timedelta:
    return timedelta(minutes=rng.uniform(lo, hi))


def within_hours(
    rng: Rng, t: datetime, tz: str, open_h: float, close_h: float, spread_h: float
) -> datetime:
    """t if it falls in [open_h, close_h) local time, else the next opening plus a spread
    (a dock or a buyer working through the overnight backlog)."""
    lt = t.astimezone(zone(tz))
    h = lt.hour + lt.minute / 60
    if open_h <= h < close_h:
        return t
    day = lt.date() if h < open_h else lt.date() + timedelta(days=1)
    opening = datetime(day.year, day.month, day.day, tzinfo=zone(tz)) + timedelta(hours=open_h)
    return opening + timedelta(hours=rng.uniform(0, spread_h))


def next_local(t: datetime, tz: str, hour: float) -> datetime:
    """The first local `hour` o'clock strictly after t."""
    lt = t.astimezone(zone(tz))
    day = lt.date()
    while True:
        cand = datetime(day.year, day.month, day.day, tzinfo=zone(tz)) + timedelta(hours=hour)
        if cand > t:
            return cand
        day += timedelta(days=1)
