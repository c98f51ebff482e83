"""Reading crosswalk files: CSV and YAML into versions, each refused row named with its
reasons, whole-file refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.masterdata.rows import FileRefused, read_file

LOADED_AT = datetime(2026, 12, 1, tzinfo=UTC)


def test_yaml_rows_with_identifier_lists_and_normalized_attributes() -> None:
    text = """
items:
  - id: NDC-1
    name: Morphine 2 mg/mL
    schedule: C-II
    cold_chain: yes
    uom: ea
    identifiers: {erp: 100900, catalog.SUP-1: [KDW-1, KDW-2]}
  - id: NDC-2
    name: Heparin
    schedule: 4
    valid_from: 2026-02-01T00:00:00Z
"""
    parsed = read_file("item", "items.yaml", text, LOADED_AT)
    assert parsed.rejected == []
    first, second = parsed.versions
    assert first.attributes == {"schedule": "CII", "cold_chain": "true", "uom": "EA"}
    assert first.identifiers == (
        ("catalog.SUP-1", "KDW-1"),
        ("catalog.SUP-1", "KDW-2"),
        ("erp", "100900"),
    )
    assert first.valid_from == LOADED_AT  # no valid_from: the instant of the load
    assert second.attributes["schedule"] == "CIV"
    assert second.valid_from == datetime(2026, 2, 1, tzinfo=UTC)


def test_csv_rows_are_numbered_as_a_spreadsheet_shows_them() -> None:
    text = (
        "id,name,asn_expected,id.edi,id.ap\n"
        "SUP-1,Keystone,true,KDW01,50001\n"
        "\n"  # a blank line is no row, but keeps its number
        "SUP-2,,maybe,,\n"
        "SUP-3,Summit,false,,50003,extra\n"
    )
    parsed = read_file("supplier", "suppliers.csv", text, LOADED_AT)
    assert [v.canonical_id for v in parsed.versions] == ["SUP-1"]
    assert parsed.versions[0].attributes == {"asn_expected": "true"}
    assert [(e.row, e.error) for e in parsed.rejected] == [
        (4, "name: required field is missing; asn_expected: must be true or false, not 'maybe'"),
        (5, "more cells than the header has columns"),
    ]  # fmt: skip


def test_a_row_holding_a_patient_identifier_is_refused_by_field() -> None:
    text = (
        "id,name,asn_expected,id.edi,id.ap\n"
        "SUP-1,Keystone,true,KDW01,50001\n"
        "SUP-2,Call 555-123-4567,false,,\n"
        "SUP-3,Summit,false,123-45-6789,\n"
        "SUP-4,Harbor,false,,MRN 00123456\n"
    )
    parsed = read_file("supplier", "suppliers.csv", text, LOADED_AT)
    assert [v.canonical_id for v in parsed.versions] == ["SUP-1"]
    assert [(e.row, e.error.split(";")[0]) for e in parsed.rejected] == [
        (3, "name: looks like a patient identifier (phone)"),
        (4, "identifiers.edi: looks like a patient identifier (ssn)"),
        (5, "identifiers.ap: looks like a patient identifier (mrn)"),
    ]


def test_an_entity_twice_at_one_instant_refuses_both_rows() -> None:
    text = "id,name\nS-1,One\nS-1,One again\nS-2,Two\n"
    parsed = read_file("site", "sites.csv", text, LOADED_AT)
    assert [v.canonical_id for v in parsed.versions] == ["S-2"]
    assert [e.row for e in parsed.rejected] == [2, 3]
    assert "also row 3" in parsed.rejected[0].error


def test_an_entity_at_two_instants_is_two_versions() -> None:
    text = (
        "id,name,id.gl,valid_from\n"
        "CC-1,Pharmacy,GL-1,2026-01-01T00:00:00Z\n"
        "CC-1,Pharmacy,GL-2,2026-06-01T00:00:00Z\n"
    )
    parsed = read_file("cost_center", "cost_centers.csv", text, LOADED_AT)
    assert parsed.rejected == [] and len(parsed.versions) == 2


@pytest.mark.parametrize(
    ("kind", "text", "reason"),
    [
        ("item", "", "empty"),
        ("item", "id,name,colour\nX,Y,red\n", "column 'colour' unknown for item"),
        ("item", "id,name,id.canonical\nX,Y,Z\n", None),
        ("site", "- [not, a, mapping]\n- 3\n", None),
        ("site", "suppliers:\n  - id: S\n", "key 'suppliers': this file loads sites only"),
        ("site", "just: [1, 2\n", "neither CSV nor YAML"),
        ("site", "42\n", "expected a list of sites"),
        ("bogus", "id\nX\n", "unknown kind 'bogus'"),
    ],
)
def test_files_refused_whole_or_every_row(kind: str, text: str, reason: str | None) -> None:
    if reason is None:  # readable, but no row is
        parsed = read_file(kind, "f.csv" if text.startswith("id,") else "f.yaml", text, LOADED_AT)
        assert parsed.versions == [] and parsed.rejected
        return
    with pytest.raises(FileRefused, match=reason):
        read_file(kind, "f.csv" if text.startswith("id,") else "f.yaml", text, LOADED_AT)
