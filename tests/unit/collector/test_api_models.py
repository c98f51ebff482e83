"""The business-event schema in the OpenAPI document against the collector's own checks
(rxsight.model, rxsight.event_checks): per event type, what the document requires is what
ingest rejects when missing, and what it accepts ingest accepts. If either side changes
alone, this fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import pytest

from collector.api_models import COMMON_REQUIRED, event_variants, events_request_body
from rxsight.event_checks import REQUIRED_BY_TYPE, event_problem
from rxsight.event_rows import EventRow, event_row
from rxsight.model import EVENT_TYPES, BusinessEvent


def _schema(target: dict[str, Any]) -> dict[str, Any]:
    body = events_request_body()
    return {**target, "components": {"schemas": body["x-component-schemas"]}}


@pytest.fixture(scope="module")
def body_validator() -> Any:
    body = events_request_body()["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.validator_for(_schema(body))


def _variant_schema(event_type: str) -> dict[str, Any]:
    return events_request_body()["x-component-schemas"][event_variants()[event_type].__name__]


def _value(name: str, prop: dict[str, Any]) -> Any:
    if "const" in prop:
        return prop["const"]
    if prop.get("format") == "date-time":
        return datetime.now(UTC).isoformat()
    if prop.get("type") == "array":
        return [{"item_id": "NDC-1", "quantity": "2"}]
    if any(option.get("type") == "number" for option in prop.get("anyOf", ())):
        return "12.5"
    return f"{name}-1"


def _minimal(event_type: str) -> dict[str, Any]:
    schema = _variant_schema(event_type)
    return {n: _value(n, schema["properties"][n]) for n in schema["required"]}


def _ingest_verdict(event: dict[str, Any]) -> str | None:
    """None when the collector's checks accept the event, else its error."""
    try:
        row = event_row(event)
    except ValueError as exc:
        return str(exc)
    return event_problem(row)


def test_every_event_type_has_a_variant_with_every_field() -> None:
    assert set(event_variants()) == EVENT_TYPES
    fields = set(BusinessEvent.model_fields)
    assert fields == set(EventRow.__struct_fields__)
    for event_type in EVENT_TYPES:
        schema = _variant_schema(event_type)
        assert set(schema["properties"]) == fields, event_type
        assert schema["additionalProperties"] is False
        assert set(schema["required"]) == {*COMMON_REQUIRED, *REQUIRED_BY_TYPE.get(event_type, ())}


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_document_and_ingest_agree_on_each_type(event_type: str, body_validator: Any) -> None:
    event = _minimal(event_type)
    assert body_validator.is_valid(event), event
    assert _ingest_verdict(event) is None, event
    assert body_validator.is_valid([event, event])
    for name in _variant_schema(event_type)["required"]:
        if name == "event_type":
            continue
        without = {k: v for k, v in event.items() if k != name}
        assert not body_validator.is_valid(without), f"{event_type} without {name}"
        verdict = _ingest_verdict(without)
        assert verdict is not None and verdict.startswith(f"{name}:"), (name, verdict)
    unknown = {**event, "colour": "blue"}
    assert not body_validator.is_valid(unknown)
    assert _ingest_verdict(unknown) == "colour: unknown field"


def test_a_negative_quantity_is_refused_by_both(body_validator: Any) -> None:
    event = _minimal("replenishment.requested")
    assert body_validator.is_valid(event) and _ingest_verdict(event) is None
    for negative in (-3, "-3"):
        wrong = {**event, "quantity": negative}
        assert not body_validator.is_valid(wrong)
        assert (_ingest_verdict(wrong) or "").startswith("quantity: must be ≥ 0")
    line = {**_minimal("goods.received"), "lines": [{"item_id": "NDC-1", "quantity": "-1"}]}
    assert not body_validator.is_valid(line)
    assert (_ingest_verdict(line) or "").startswith("lines.0.quantity: must be ≥ 0")


def test_an_unknown_event_type_is_refused_by_both(body_validator: Any) -> None:
    event = {**_minimal("po.transmitted"), "event_type": "po.teleported"}
    assert not body_validator.is_valid(event)
    assert "unknown event type" in (_ingest_verdict(event) or "")
