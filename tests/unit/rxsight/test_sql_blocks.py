"""A query's optional parts (rxsight/store/sql.py `with_blocks`): the parts a request names are
sent, the others left out, nested ones only inside a kept part; a marker out of place is an
error, not a silently different query."""

from __future__ import annotations

import pytest

from rxsight.store.sql import with_blocks

SQL = """SELECT a
    -- <extra>
    , b
    -- <more>
    , c
    -- </more>
    -- </extra>
FROM t"""


def test_only_the_parts_named_are_kept() -> None:
    assert with_blocks(SQL, []) == "SELECT a\nFROM t"
    assert with_blocks(SQL, ["extra"]) == "SELECT a\n    , b\nFROM t"
    assert with_blocks(SQL, ["extra", "more"]) == "SELECT a\n    , b\n    , c\nFROM t"
    # A nested part goes with the part around it.
    assert with_blocks(SQL, ["more"]) == "SELECT a\nFROM t"


@pytest.mark.parametrize(
    "broken",
    ["-- <a>\nx", "x\n-- </a>", "-- <a>\n-- <b>\n-- </a>\n-- </b>"],
)
def test_unbalanced_markers_are_refused(broken: str) -> None:
    with pytest.raises(ValueError):
        with_blocks(broken, ["a", "b"])
