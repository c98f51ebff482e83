"""collector.events: request bodies decoded whole to rows, exactly what the model makes of
each event, and anything doubtful left to be taken item by item; events_table reads rows as
the model reads events."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.events import decode_rows, events_table, split_body
from rxsight.event_rows import EventRowDecoder, event_row
from rxsight.model import BusinessEvent, EventLine, validate_event
from tests.unit.event_kit import (
    LIMITS,
    canonical,
    event_fields,
    minimal_event,
    model_outcome,
    row_fields,
    row_limits,
    valid_events,
)


def test_events_table_holds_the_models_values():
    objs = [
        minimal_event(),
        minimal_event(
            event_id="ev-2",
            site="mercy-east",
            quantity=3,
            amount="10.25",
            due_at="2026-12-01T00:00:00-05:00",
            lines=[{"item_id": "NDC-1", "quantity": "2.5", "unit_price": 4}, {"uom": "EA"}],
            attributes={"note": "x"},
        ),
    ]
    table = events_table([event_row(obj) for obj in objs])
    for obj, stored in zip(objs, table.to_pylist(), strict=True):
        event = validate_event(obj)
        # Absent values are stored as null, or as '' in string columns.
        for name in BusinessEvent.model_fields.keys() - {"lines", "attributes"}:
            value, got = getattr(event, name), stored[name]
            assert got == ("" if value is None and isinstance(got, str) else value), name
        for name in EventLine.model_fields:
            values, got = [getattr(line, name) for line in event.lines], stored[f"lines.{name}"]
            assert got == [
                "" if v is None and isinstance(g, str) else v
                for v, g in zip(values, got, strict=True)
            ], name
        assert dict(stored["attributes"]) == event.attributes
    assert table.column("lines.quantity").to_pylist() == [[], [Decimal("2.5"), None]]
    assert table.column("lines.line_no").to_pylist() == [[], [1, 2]]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(objs=st.lists(valid_events, min_size=1, max_size=3))
def test_a_valid_body_is_decoded_whole_to_what_the_model_makes_of_each_event(objs):
    body = json.dumps(objs).encode()
    rows = decode_rows(body, "application/json", EventRowDecoder(row_limits(LIMITS)))
    assert rows is not None
    assert len(rows) == len(objs)
    for obj, row in zip(objs, rows, strict=True):
        want = model_outcome(obj, LIMITS)
        assert want == ("accepted", canonical(row_fields(row)))


USUAL = [
    minimal_event(
        event_id=f"ev-{i}",
        site="mercy-main",
        supplier_id="SUP-1",
        po_number="PO-1",
        lines=[{"line_no": 1, "item_id": "NDC-1", "quantity": 12, "unit_price": "49.25"}],
    )
    for i in range(3)
]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps(USUAL), "application/json"),
        (json.dumps(USUAL), "application/x-ndjson"),
        (json.dumps(USUAL[0]), "application/json"),
        (json.dumps(USUAL[0]), ""),
        ("\n".join(json.dumps(e) for e in USUAL), "application/x-ndjson"),
        ("\n\n".join(json.dumps(e) for e in USUAL) + "\n", "application/jsonl; charset=utf-8"),
    ],
)
def test_the_usual_bodies_are_decoded_whole_as_split_body_reads_them(body, content_type):
    rows = decode_rows(body.encode(), content_type, EventRowDecoder())
    assert rows is not None, "the usual request should not go item by item"
    items = split_body(body.encode(), content_type)
    assert [row_fields(r) for r in rows] == [event_fields(item) for item in items]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps([*USUAL, {**USUAL[0], "event_type": "po.teleported"}]), "application/json"),
        (json.dumps([*USUAL, "an event"]), "application/json"),
        (json.dumps(USUAL[0]) + "\n" + json.dumps(USUAL[1]), "application/json"),
        (json.dumps(USUAL[0]) + "\nnot json", "application/x-ndjson"),
        (json.dumps(USUAL), "text/plain"),
        ("", "application/json"),
        # NDJSON is one event per line: split_body names the line that holds two, or a part.
        (json.dumps(USUAL[0]) + " " + json.dumps(USUAL[1]), "application/x-ndjson"),
        (json.dumps(USUAL[0], indent=2), "application/x-ndjson"),
        (json.dumps(USUAL[0], indent=2), ""),
        ("  \n ", "application/x-ndjson"),
    ],
)
def test_a_body_with_anything_doubtful_goes_item_by_item(body, content_type):
    assert decode_rows(body.encode(), content_type, EventRowDecoder()) is None
