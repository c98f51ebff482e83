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
# A first look for the values worth the full treatment; most telemetry values hit none.
# Each pattern on its own, and only where its telltale is ("@" for an e-mail, "mrn" for an
# MRN, a "b" for the birth-date keywords), finds what one alternation of them all would
# find, at less than half its cost: that alternation tries every pattern at every position.
_SCREENS = tuple(
    ({"email": "@", "mrn": "mrn", "dob": "b"}.get(name, ""), re.compile(p.pattern, re.IGNORECASE))
    for name, p in _PATTERNS
)
_DOB_KEYS = re.compile(r"(?:^|[._-])(?:dob|birth_?date|date_?of_?birth)$", re.IGNORECASE)
_CACHE_LIMIT = 50_000
_KEEP, _DROP, _REDACT = 0, 1, 2


def _may_hold_phi(value: str) -> bool:
    lowered = value.lower()
    return any(telltale in lowered and pattern.search(value) for telltale, pattern in _SCREENS)


class PhiScrubber:
    """Scrubs attribute maps in place of the caller's copy. Values repeat a lot in telemetry
    (flow names, sites, statuses), so verdicts per value are cached."""

    def __init__(self, config: PhiConfig) -> None:
        self._drop = frozenset(config.drop_keys)
        self._enabled = config.redact_patterns
        self._cache: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._key_cache: dict[str, int] = {}
        self._clean: set[str] = set()
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

    def _key_kind(self, key: str) -> int:
        kind = self._key_cache.get(key)
        if kind is None:
            if key in self._drop:
                kind = _DROP
            elif self._enabled and (key.startswith("patient.") or _DOB_KEYS.search(key)):
                kind = _REDACT
            else:
                kind = _KEEP
            if len(self._key_cache) < _CACHE_LIMIT:
                self._key_cache[key] = kind
        return kind

    def scrub_pairs(self, keys: list[str], values: list[str]) -> tuple[list[str], list[str]]:
        """Like scrub() for parallel key and value lists (the span hot path): key verdicts
        and clean values are cached, so only values never seen before meet a regex."""
        if not self._enabled and not self._drop:
            return keys, values
        out_k: list[str] = []
        out_v: list[str] = []
        clean = self._clean
        for key, value in zip(keys, values, strict=True):
            kind = self._key_kind(key)
            if kind == _DROP:
                self.counts["dropped_key"] += 1
                continue
            if kind == _REDACT:
                self.counts["patient_key"] += 1
                value = "[REDACTED]"
            elif self._enabled and len(value) >= 7 and value not in clean:
                if _may_hold_phi(value):
                    value = self.scrub_value(value)
                elif len(clean) < _CACHE_LIMIT:
                    clean.add(value)
            out_k.append(key)
            out_v.append(value)
        return out_k, out_v

    def verdict(self, key: str, value: str) -> tuple[str | None, str, tuple[str, ...]]:
        """What scrub_pairs() makes of one pair, without counting it: the key (None when it
        is dropped), the value to store, and the kinds to count each time the pair is seen."""
        kind = self._key_kind(key)
        if kind == _DROP:
            return None, value, ("dropped_key",)
        if kind == _REDACT:
            return key, "[REDACTED]", ("patient_key",)
        if not self._enabled or len(value) < 7 or not _may_hold_phi(value):
            return key, value, ()
        return (key, *self._redaction(value))

    def scrub_value(self, value: str) -> str:
        if not self._enabled or len(value) < 7:
            return value
        redacted, kinds = self._redaction(value)
        for kind in kinds:
            self.counts[kind] += 1
        return redacted

    def _redaction(self, value: str) -> tuple[str, tuple[str, ...]]:
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
        return hit
