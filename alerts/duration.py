"""Durations in Alertmanager's grammar (prometheus/common model.ParseDuration).

Units y w d h m s ms, whole numbers only, each unit at most once and in that order
(`1h30m`, not `30m1h` or `1.5h`); `0` alone is allowed. A bare number is refused, as
Alertmanager refuses it, so a value means the same in both."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_GRAMMAR = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?\Z",
    re.ASCII,
)
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
# Go's time.Duration is int64 nanoseconds; Alertmanager refuses anything larger.
_MAX_MS = (2**63 - 1) // 1_000_000


def parse_duration(value: Any) -> float:
    """Seconds from an Alertmanager duration string ("30s", "1h30m", "200ms", "0")."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration: write it with a unit, e.g. 30s or 5m")
    if value == "0":
        return 0.0
    m = _GRAMMAR.match(value)
    if value == "" or m is None:
        raise ValueError(
            f"{value!r} is not a duration: whole numbers with units y w d h m s ms, "
            "largest first (e.g. 1h30m, 200ms), as Alertmanager reads them"
        )
    total = 0
    for digits, unit in zip(m.groups(), _UNIT_MS, strict=True):
        if digits is not None:
            total += int(digits) * unit
            if total > _MAX_MS:
                raise ValueError(f"{value!r} is too long a duration")
    return total / 1000


def format_duration(seconds: float) -> str:
    """model.Duration.String(): the largest units first, `0s` for zero."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for unit, size in zip(("y", "w", "d", "h", "m", "s", "ms"), _UNIT_MS, strict=True):
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)


Duration = Annotated[float, BeforeValidator(parse_duration)]
