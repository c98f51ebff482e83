"""OTLP test support: requests built with the OTLP protos, gRPC export, refusal details."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.support import Server

TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROTOBUF = "application/x-protobuf"


def spans_request(n: int, cid: str = "c-refusal") -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    resource = req.resource_spans.add()
    attr = resource.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", "erp"
    scope = resource.scope_spans.add()
    now = time.time_ns()
    for i in range(n):
        span = scope.spans.add()
        span.trace_id, span.span_id = uuid.uuid4().bytes, uuid.uuid4().bytes[:8]
        span.name = "sync"
        span.start_time_unix_nano, span.end_time_unix_nano = now + i, now + i + 5000
        tag = span.attributes.add()
        tag.key, tag.value.string_value = "correlation.id", cid
    return req


def own_channel(port: int) -> grpc.Channel:
    """A channel with its own connection: channels to one target otherwise share one, and a
    fault on it would reach every call in the process."""
    return grpc.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
    )


def grpc_export(
    server: Server, req: ExportTraceServiceRequest, token: str | None = None
) -> grpc.RpcError | None:
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    with own_channel(server.grpc_port) as channel:
        export = channel.unary_unary(
            TRACES,
            request_serializer=ExportTraceServiceRequest.SerializeToString,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        try:
            export(req, timeout=30, metadata=metadata)
        except grpc.RpcError as exc:
            return exc
    return None


def status_details(error: grpc.RpcError) -> Status | None:
    raw = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    return Status.FromString(raw) if raw else None


def retry_info(status: Status) -> RetryInfo | None:
    for detail in status.details:
        if detail.Is(RetryInfo.DESCRIPTOR):
            info = RetryInfo()
            detail.Unpack(info)
            return info
    return None


def otlp_json(req: Message) -> bytes:
    """`req` in OTLP/JSON: proto3 JSON, except that trace and span IDs are hex, not base64."""
    data = json_format.MessageToDict(req)

    def hex_ids(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    hex_ids(value)
        elif isinstance(node, list):
            for item in node:
                hex_ids(item)

    hex_ids(data)
    return json.dumps(data).encode()
