"""OTLP AnyValues and span attributes as the strings rxsight stores, scrubbed of PHI."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from functools import cache
from itertools import chain
from typing import Any

import pyarrow as pa
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from collector.otlp.wire import parse_request
from rxsight.phi import PhiScrubber


def any_value(v: Any) -> Any:
    """An OTLP AnyValue as a plain Python value."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return getattr(v, kind)


def any_value_str(v: Any) -> str:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind is None:
        return ""
    if kind == "bool_value":
        return "true" if v.bool_value else "false"
    if kind in ("int_value", "double_value"):
        return str(getattr(v, kind))
    return json.dumps(any_value(v), separators=(",", ":"), default=str)


class MapColumn:
    """A Map(String, String) column built flat (offsets, keys, values): far cheaper than a
    list of per-row dicts when a batch has tens of thousands of spans."""

    __slots__ = ("offsets", "keys", "values")

    def __init__(self) -> None:
        self.offsets: list[int] = [0]
        self.keys: list[str] = []
        self.values: list[str] = []

    def add(self, keys: list[str], values: list[str]) -> None:
        self.keys.extend(keys)
        self.values.extend(values)
        self.offsets.append(len(self.keys))

    def array(self) -> pa.Array:
        return pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()),
            pa.array(self.keys, pa.string()),
            pa.array(self.values, pa.string()),
        )


def kv_lists(kvs: Iterable[Any]) -> tuple[list[str], list[str]]:
    keys, values = [], []
    for kv in kvs:
        value = kv.value
        text = value.string_value
        if not text and value.WhichOneof("value") != "string_value":
            text = any_value_str(value)
        keys.append(kv.key)
        values.append(text)
    return keys, values


@cache
def raw_attributes_request() -> type[Message]:
    """ExportTraceServiceRequest with Span.attributes read as encoded KeyValues (made once,
    on first use)."""
    # The same wire format with Span.attributes declared `repeated bytes`: upb then hands
    # each attribute over as its encoded KeyValue instead of two message objects, which cost
    # more than all the rest of a span. The other messages are the real ones, so they are
    # checked as they always were.
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, trace_pb2, trace_service_pb2):
        file = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        if module is trace_pb2:
            span = next(m for m in file.message_type if m.name == "Span")
            attributes = next(f for f in span.field if f.name == "attributes")
            attributes.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
            attributes.ClearField("type_name")
        pool.Add(file)
    name = ExportTraceServiceRequest.DESCRIPTOR.full_name
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


# New correlation IDs never stop coming, so the cache of encoded attributes starts over
# when it holds this many (about 7 MB); relearning the attributes that recur is cheap.
_RAW_CACHE_LIMIT = 20_000


class SpanAttributes:
    """Span attributes of a raw_attributes_request() as scrubbed key and value lists. The same
    attributes recur on span after span (flow, site, status), so each distinct encoded
    KeyValue is decoded and scrubbed once, and afterwards found by its bytes."""

    def __init__(self, scrubber: PhiScrubber) -> None:
        self._scrubber = scrubber
        self._known: dict[bytes, tuple[str | None, str, tuple[str, ...]]] = {}

    def learn(self, request: Message) -> list[list[list[bytes]]]:
        """Per scope of the request, in order, each span's encoded attributes, once those
        never seen before are learnt. An attribute that is not a valid KeyValue raises
        OtlpDecodeError, before anything is counted."""
        if len(self._known) > _RAW_CACHE_LIMIT:
            self._known.clear()
        # A slice is one call for the whole list, far cheaper than iterating upb.
        scopes = [
            [span.attributes[:] for span in ss.spans]
            for rs in request.resource_spans  # type: ignore[attr-defined]
            for ss in rs.scope_spans
        ]
        every = chain.from_iterable(chain.from_iterable(scopes))
        new = [raw for raw in dict.fromkeys(every) if raw not in self._known]
        if new:
            self._learn(new)
        return scopes

    def pairs(self, raws: list[bytes]) -> tuple[list[str], list[str]]:
        """The scrubbed pairs of one span's attributes, from learn(); PHI counted."""
        known = self._known
        counts = self._scrubber.counts
        keys: list[str] = []
        values: list[str] = []
        for raw in raws:
            try:
                key, value, kinds = known[raw]
            except KeyError:  # forgotten since learn(): a decode in another thread cleared it
                [(key, value, kinds)] = self._learn([raw])
            if kinds:
                counts.update(kinds)
            if key is not None:
                keys.append(key)
                values.append(value)
        return keys, values

    def _learn(self, raws: list[bytes]) -> list[tuple[str | None, str, tuple[str, ...]]]:
        # Parsed where they sat in the request (span attributes, at the same depth), so they
        # meet the same checks as in a full parse.
        probe = raw_attributes_request()()
        probe.resource_spans.add().scope_spans.add().spans.add().attributes.extend(raws)  # type: ignore[attr-defined]
        parsed = parse_request(
            probe.SerializeToString(), "application/x-protobuf", ExportTraceServiceRequest
        )
        keys, texts = kv_lists(parsed.resource_spans[0].scope_spans[0].spans[0].attributes)  # type: ignore[attr-defined]
        verdicts = [
            self._scrubber.verdict(key, text) for key, text in zip(keys, texts, strict=True)
        ]
        self._known.update(zip(raws, verdicts, strict=True))
        return verdicts
