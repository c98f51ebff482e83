"""PHI scrubbing at ingest: configured keys dropped, patient identifiers redacted, counted."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

from rxsight.config import PhiConfig

# Order matters: an SSN must be claimed before the looser phone pattern sees its digits.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ssn", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("mrn", re.compile(r"\bMRN[\s:#=-]*[A-Z0-9]{4,}\b", re.IGNORECASE)),
    (
        "dob",
        re.compile(
            r"\b(?:DOB|date[\s_-]?of[\s_-]?birth|birth[\s_-]?date)[\s:=]*"
            r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b",
            re.IGNORECASE,
        ),
    ),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("phone", re.compile(r"(?<!\w)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?!\w)")),
)
_DOB_KEYS = re.compile(r"(?:^|[._-])(?:dob|birth_?date|date_?of_?birth)$", re.IGNORECASE)
_CACHE_LIMIT = 50_000


class PhiScrubber:
    """Scrubs attribute maps in place of the caller's copy. Values repeat a lot in telemetry
    (flow names, sites, statuses), so verdicts per value are cached."""

    def __init__(self, config: PhiConfig) -> None:
        self._drop = frozenset(config.drop_keys)
        self._enabled = config.redact_patterns
        self._cache: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.counts: Counter[str] = Counter()

    def scrub(self, attrs: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in attrs.items():
            if key in self._drop:
                self.counts["dropped_key"] += 1
                continue
            if not self._enabled:
                out[key] = value
            elif key.startswith("patient.") or _DOB_KEYS.search(key):
                self.counts["patient_key"] += 1
                out[key] = "[REDACTED]"
            else:
                out[key] = self.scrub_value(value)
        return out

    def scrub_value(self, value: str) -> str:
        if not self._enabled or len(value) < 7:
            return value
        hit = self._cache.get(value)
        if hit is None:
            redacted, kinds = value, []
            for name, pattern in _PATTERNS:
                redacted, n = pattern.subn(f"[REDACTED:{name}]", redacted)
                kinds += [name] * n
            hit = (redacted, tuple(kinds))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[value] = hit
        for kind in hit[1]:
            self.counts[kind] += 1
        return hit[0]
