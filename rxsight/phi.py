"""PHI at every door: configured keys dropped, patient identifiers redacted (ingest) or refused
(identifiers, master data), counted."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

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
# Keys that name patients (DESIGN 8: patient*, *mrn*, *dob*, birth*, ssn), a word of the key
# or within it: dropped whatever their value, as an MRN sent as an integer says nothing of
# itself.
_PATIENT_KEY = re.compile(
    r"(?:^|[^a-z])(?:patient|birth|ssn(?![a-z]))|mrn|dob|date_?of_?birth", re.IGNORECASE
)
_PATIENT_WORDS = ("patient", "birth", "ssn", "mrn", "dob")
_CACHE_LIMIT = 50_000
_KEEP, _DROP, _PATIENT = 0, 1, 2


def _may_hold_phi(value: str) -> bool:
    lowered = value.lower()
    return any(telltale in lowered and pattern.search(value) for telltale, pattern in _SCREENS)


def _worth_a_look(value: str) -> bool:
    """Whether a value may hold PHI: a pattern, or (a nested key-value list, serialised as
    JSON) a key that names a patient."""
    if _may_hold_phi(value):
        return True
    if value[:1] in "{[":
        lowered = value.lower()
        return any(word in lowered for word in _PATIENT_WORDS)
    return False


def phi_kind(value: str) -> str | None:
    """The kind of patient identifier `value` holds (ssn, mrn, dob, email, phone), or None."""
    if len(value) < 7 or not _may_hold_phi(value):
        return None
    return next((name for name, pattern in _PATTERNS if pattern.search(value)), None)


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
        keys, values = self.scrub_pairs(list(attrs), list(attrs.values()))
        return dict(zip(keys, values, strict=True))

    def scrub_text(self, value: str) -> str:
        """A name or other free text (span, event and scope names, TraceState): redacted
        where it holds a patient identifier, counted; clean values are remembered."""
        if not self._enabled or len(value) < 7 or value in self._clean:
            return value
        if _worth_a_look(value):
            return self.scrub_value(value)
        if len(self._clean) < _CACHE_LIMIT:
            self._clean.add(value)
        return value

    def _key_kind(self, key: str) -> int:
        kind = self._key_cache.get(key)
        if kind is None:
            if key in self._drop:
                kind = _DROP
            elif self._enabled and (_PATIENT_KEY.search(key) or _may_hold_phi(key)):
                kind = _PATIENT
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
            if kind == _PATIENT:
                self.counts["patient_key"] += 1
                continue
            if self._enabled and len(value) >= 7 and value not in clean:
                if _worth_a_look(value):
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
        if kind == _PATIENT:
            return None, value, ("patient_key",)
        if not self._enabled or len(value) < 7 or not _worth_a_look(value):
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
            kinds: list[str] = []
            redacted = _nested(value, kinds) if value[:1] in "{[" else None
            if redacted is None:
                redacted = _redacted(value, kinds)
            hit = (redacted, tuple(kinds))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[value] = hit
        return hit


def _redacted(value: str, kinds: list[str]) -> str:
    for name, pattern in _PATTERNS:
        value, n = pattern.subn(f"[REDACTED:{name}]", value)
        kinds += [name] * n
    return value


def _nested(value: str, kinds: list[str]) -> str | None:
    """A nested key-value list or array (OTLP kvlist_value / array_value, serialised as
    JSON): keys that name patients dropped at every depth, strings redacted. None when
    `value` is not JSON, so it is scrubbed as text."""
    try:
        tree = json.loads(value)
    except ValueError:
        return None
    if not isinstance(tree, dict | list):
        return None

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, child in node.items():
                if _PATIENT_KEY.search(key) or _may_hold_phi(key):
                    kinds.append("patient_key")
                    continue
                out[key] = clean(child)
            return out
        if isinstance(node, list):
            return [clean(child) for child in node]
        if isinstance(node, str) and len(node) >= 7 and _may_hold_phi(node):
            return _redacted(node, kinds)
        return node

    return json.dumps(clean(tree), separators=(",", ":"), ensure_ascii=False)
