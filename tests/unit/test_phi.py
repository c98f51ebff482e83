"""The PHI screen (a first look before the full redaction) answers exactly what one search
for all the patterns at once would."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rxsight.phi import _PATTERNS, _may_hold_phi

ALL_AT_ONCE = re.compile("|".join(f"(?:{p.pattern})" for _, p in _PATTERNS), re.IGNORECASE)
FRAGMENTS = [
    "MRN",
    "mrn:",
    "Mrn# ",
    "AB12",
    "dob ",
    "DOB=",
    "Date of Birth",
    "birth_date",
    "1990-01-02",
    "02/03/1990",
    "123-45-6789",
    "555-123-4567",
    "(555) 123-4567",
    "+1 ",
    "@",
    "jo.doe+x",
    "example.org",
    "corr-000001-0001",
    " ",
    "-",
    ".",
    "_",
    "ſ",
    "K",
    "İ",
    "٣٣٣",
]


@settings(max_examples=2000, deadline=None)
@given(
    value=st.one_of(
        st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join),
        st.text(max_size=40),
    )
)
def test_the_screen_finds_what_one_search_for_all_patterns_finds(value):
    assert _may_hold_phi(value) == bool(ALL_AT_ONCE.search(value))
