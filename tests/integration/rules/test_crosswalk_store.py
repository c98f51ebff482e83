"""Crosswalk versions in the store, on both engines: an identifier a version drops stops
mapping from its valid_from, a retired entity maps nothing, history keeps every version."""

from __future__ import annotations

from datetime import UTC, datetime

from rules.masterdata import crosswalk
from rules.masterdata.rows import read_file
from rxsight.store import Store


def at(month: int) -> datetime:
    return datetime(2026, month, 1, tzinfo=UTC)


def load(store: Store, text: str) -> crosswalk.Loaded:
    parsed = read_file("item", "items.csv", text, at(12))
    assert parsed.rejected == []
    return crosswalk.load(store, "item", parsed, source="items.csv", actor="test")


def test_dropped_identifiers_and_retired_entities_stop_mapping(store: Store) -> None:
    header = "id,name,retired,id.catalog.S,valid_from\n"
    first = load(store, header + "X,Vial,,CAT-A|CAT-B,2026-01-01T00:00:00Z\n")
    assert first.versions == 1 and first.mappings_ended == 0
    second = load(store, header + "X,Vial 2,,CAT-A,2026-03-01T00:00:00Z\n")
    assert second.mappings_ended == 1  # CAT-B
    third = load(store, header + "X,Vial 2,true,,2026-05-01T00:00:00Z\n")
    assert third.mappings_ended == 2  # CAT-A and X itself

    asked = [("item", "CAT-A"), ("item", "CAT-B"), ("item", "X")]
    assert crosswalk.names(store, asked, at(2)) == {
        ("item", "CAT-A"): ("X", "Vial"),
        ("item", "CAT-B"): ("X", "Vial"),
        ("item", "X"): ("X", "Vial"),
    }
    assert set(crosswalk.names(store, asked, at(4))) == {("item", "CAT-A"), ("item", "X")}
    assert crosswalk.names(store, asked, at(6)) == {}
    assert [e["id"] for e in crosswalk.search(store, "item", "cat-b", at(2))] == ["X"]
    assert crosswalk.search(store, "item", "", at(6)) == []
    history = crosswalk.history(store, "item", "X")
    assert [(v["name"], v["retired"]) for v in history] == [
        ("Vial", False),
        ("Vial 2", False),
        ("Vial 2", True),
    ]
