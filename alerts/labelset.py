"""Label sets as Alertmanager identifies and prints them: the fingerprint and the text form.

prometheus/common model: LabelSet.Fingerprint() (signature.go labelSetToFingerprint, fnv.go)
and LabelSet.String() as Alertmanager 0.25 was built with it (each pair `name=%q`, the pairs
sorted as text, joined by ", "). Checked against a running Alertmanager 0.25
(tests/unit/alerts/am025/payloads.json)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = 2**64 - 1
_SEPARATOR = 0xFF  # model.SeparatorByte: never valid inside UTF-8 text
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_GO_ESCAPES |= {"\v": "\\v", "\\": "\\\\", '"': '\\"'}


def fingerprint(labels: Mapping[str, str]) -> str:
    """FNV-1a 64 over the labels sorted by name, each `name 0xFF value 0xFF`, as 16 hex digits
    (an empty set is the FNV offset basis)."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
            h = ((h ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def _printable(ch: str) -> bool:
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space.
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def go_quote(text: str) -> str:
    """Go's strconv.Quote (`%q`): printable characters kept, the rest escaped."""
    out = ['"']
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def labelset_string(labels: Mapping[str, str]) -> str:
    """`{a="x", b="y"}`: Alertmanager's text form of a label set (group keys use it)."""
    pairs = sorted(f"{name}={go_quote(value)}" for name, value in labels.items())
    return "{" + ", ".join(pairs) + "}"
