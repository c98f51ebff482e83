"""OTLP test support: requests built with the OTLP protos, gRPC export, refusal details."""

from __future__ import annotations

import time
import uuid

import grpc
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


def grpc_export(
    server: Server, req: ExportTraceServiceRequest, token: str | None = None
) -> grpc.RpcError | None:
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
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
