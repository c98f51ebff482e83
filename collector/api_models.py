"""The ingest routes in the OpenAPI document: the business-event request schema and the
answers. The event schema is derived from the one validation home, `rxsight.model`'s
BusinessEvent and `rxsight.event_checks`' key fields per type, never written twice: one
variant per event type, its `event_type` fixed and its key fields required (DESIGN 4)."""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import Field, TypeAdapter, create_model
from pydantic.fields import FieldInfo

from rxsight.event_checks import REQUIRED_BY_TYPE
from rxsight.model import EVENT_TYPES, BusinessEvent
from rxsight.openapi import ApiModel

COMMON_REQUIRED = tuple(n for n, f in BusinessEvent.model_fields.items() if f.is_required())


class Rejection(ApiModel):
    index: int = Field(description="the item's position in the request (0-based)")
    error: str = Field(description="the field and the reason, e.g. `occurred_at: ...`")


class EventsAnswer(ApiModel):
    accepted: int = Field(description="events stored now")
    duplicates: int = Field(description="events sent before with the same content (resends)")
    rejected: list[Rejection]


class IngestError(ApiModel):
    """A /v1/events request refused as a whole (bad body, size, media type, credentials,
    back-pressure: 429 and 503 carry Retry-After)."""

    error: str


def _present(annotation: Any) -> Any:
    """The type of a field that must be there and not empty: `T | None` becomes T, and a
    string or list needs at least one element (the checks treat "" and [] as missing)."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    base = get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation
    if base is str or get_origin(base) is list:
        return Annotated[annotation, Field(min_length=1)]
    return annotation


def _class_name(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.replace(".", "_").split("_")) + "Event"


def _variant(event_type: str) -> type[BusinessEvent]:
    fields: dict[str, Any] = {"event_type": (Literal[event_type], ...)}
    for name in REQUIRED_BY_TYPE.get(event_type, ()):
        base: FieldInfo = BusinessEvent.model_fields[name]
        fields[name] = (_present(base.annotation), Field(description=f"required for {event_type}"))
    model = create_model(_class_name(event_type), __base__=BusinessEvent, **fields)
    model.__doc__ = f"A `{event_type}` event."
    return model


@cache
def event_variants() -> dict[str, type[BusinessEvent]]:
    """One model per event type of the vocabulary, for the document only: requests are
    validated by rxsight.model and rxsight.event_checks themselves."""
    return {t: _variant(t) for t in sorted(EVENT_TYPES)}


@cache
def events_request_body() -> dict[str, Any]:
    """The requestBody of POST /v1/events: one event or an array of them as JSON, or NDJSON
    (one event per line), each event one of the per-type variants."""
    variants = tuple(event_variants().values())
    event = Annotated[Union[variants], Field(discriminator="event_type")]  # noqa: UP007
    body = TypeAdapter(event | list[event])  # type: ignore[operator]
    schema = body.json_schema(ref_template="#/components/schemas/{model}")
    # rxsight.openapi.document moves these into components.schemas.
    definitions = schema.pop("$defs")
    description = (
        "One business event, an array of them, or NDJSON (one per line). Each event is "
        "checked on its own: a rejected one is named by index and reason and never takes "
        "its valid siblings down. Event types configured as `custom_event_types` are "
        "accepted too (with the common fields only)."
    )
    return {
        "x-component-schemas": definitions,
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {"schema": schema},
                "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
            },
        },
    }


def ingest_responses() -> dict[int | str, dict[str, Any]]:
    retry = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return {
        200: {"model": EventsAnswer, "description": "Something was accepted or was a resend"},
        400: {
            "description": "Nothing was accepted (each rejection named), or the body cannot "
            "be read as events at all",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/EventsAnswer"},
                            {"$ref": "#/components/schemas/IngestError"},
                        ]
                    }
                }
            },
        },
        401: {"model": IngestError, "description": "Ingest tokens are configured; none valid"},
        403: {
            "model": IngestError,
            "description": "No ingest token is configured and the caller is not on loopback",
        },  # fmt: skip
        413: {"model": IngestError, "description": "The body is over ingest.max_request_bytes"},
        415: {"model": IngestError, "description": "Content-Type or Content-Encoding not read"},
        429: {"model": IngestError, "description": "Rate limited or spool full", "headers": retry},
        503: {"model": IngestError, "description": "Not ready", "headers": retry},
    }


class OtlpPartialSuccess(ApiModel):
    """proto3 JSON of ExportTrace/LogsServiceResponse.partial_success (int64 as a string)."""

    rejectedSpans: str | None = None
    rejectedLogRecords: str | None = None
    errorMessage: str | None = None


class OtlpExportAnswer(ApiModel):
    """Export{Trace,Logs}ServiceResponse as JSON (the request's encoding: protobuf for a
    protobuf request); partialSuccess only when items were rejected."""

    partialSuccess: OtlpPartialSuccess | None = None


class OtlpStatus(ApiModel):
    """google.rpc.Status, the OTLP/HTTP refusal body (JSON here; protobuf for a protobuf
    request). A retryable refusal carries a google.rpc.RetryInfo detail."""

    code: int
    message: str
    details: list[dict[str, Any]] | None = None


def otlp_openapi(signal: str) -> dict[str, Any]:
    """openapi_extra of POST /v1/traces and /v1/logs: the OTLP request encodings."""
    message = {"traces": "ExportTraceServiceRequest", "logs": "ExportLogsServiceRequest"}[signal]
    return {
        "requestBody": {
            "required": True,
            "description": f"An OTLP {message} (opentelemetry-proto), binary protobuf or "
            "proto3 JSON; Content-Encoding gzip, deflate or zstd.",
            "content": {
                "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
    }


def otlp_responses() -> dict[int | str, dict[str, Any]]:
    binary = {"application/x-protobuf": {"schema": {"type": "string", "format": "binary"}}}
    status = {"model": OtlpStatus, "content": binary}
    retry = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return {
        200: {
            "model": OtlpExportAnswer,
            "content": binary,
            "description": "Exported; partialSuccess names what was rejected",
        },  # fmt: skip
        400: {**status, "description": "Not valid OTLP"},
        401: {**status, "description": "Ingest tokens are configured; none valid"},
        403: {**status, "description": "No ingest token configured; caller not on loopback"},
        413: {**status, "description": "The body is over ingest.max_request_bytes"},
        415: {**status, "description": "Content-Type or Content-Encoding not read"},
        429: {**status, "description": "Rate limited or spool full", "headers": retry},
        503: {**status, "description": "Not ready", "headers": retry},
    }
