"""Bound strings reach ClickHouse escaped exactly as the driver's own escaping would."""

from __future__ import annotations

from clickhouse_connect.driver import binding
from hypothesis import given
from hypothesis import strategies as st

from rxsight.store.client import escape_bound_string


def drivers_escaping(value: str) -> str:
    return "".join(f"{binding.BS}{c}" if c in binding.must_escape else c for c in value)


@given(st.text(alphabet=st.sampled_from("ab\\'`\t\n\r\"\x00é{}[],") | st.characters()))
def test_escaping_matches_the_driver(value: str) -> None:
    assert escape_bound_string(value) == drivers_escaping(value)


def test_the_driver_binds_with_it() -> None:
    ids = ["corr-1", "it's", "tab\there", "back\\slash", "line\nbreak"]
    assert binding.format_bind_value(ids) == (
        "['corr-1', 'it\\'s', 'tab\\\there', 'back\\\\slash', 'line\\\nbreak']"
    )


def test_bound_strings_round_trip_through_the_engine(store) -> None:  # noqa: ANN001
    values = ["plain", "it's", "tab\there", "back\\slash", "line\nbreak", "`tick`", "é"]
    assert store.query_value("SELECT {v:Array(String)}", {"v": values}) == values
    assert store.query_value("SELECT {v:String}", {"v": values[4]}) == values[4]
