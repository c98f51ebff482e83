"""OTLP/gRPC on port 4317: the trace and logs services, answered like the HTTP endpoints."""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from collector.service import Collector
from collector.spool import SpoolFull
from rxsight.auth import Authenticator, Principal, is_loopback

log = logging.getLogger(__name__)


def _peer_host(context: grpc.ServicerContext) -> str | None:
    peer = context.peer() or ""  # "ipv4:127.0.0.1:5555" or "ipv6:[::1]:5555"
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return None


class _Base:
    def __init__(self, collector: Collector, auth: Authenticator) -> None:
        self.collector = collector
        self.auth = auth

    def principal(self, context: grpc.ServicerContext) -> Principal:
        meta = dict(context.invocation_metadata() or ())
        header = meta.get("authorization", "")
        if header.lower().startswith("bearer "):
            principal = self.auth.from_bearer(header[7:].strip())
            if principal and principal.role in ("ingest", "admin"):
                return principal
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "authorization: invalid bearer token")
        if not self.auth.ingest_tokens_configured and is_loopback(_peer_host(context)):
            return Principal(name="loopback", role="ingest", via="loopback")
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "authorization: an ingest token is required")
        raise AssertionError("unreachable")

    def full(self, context: grpc.ServicerContext, signal: str, exc: SpoolFull) -> None:
        self.collector.metrics.requests.labels(signal, "RESOURCE_EXHAUSTED").inc()
        context.set_trailing_metadata((("retry-after", "2"),))
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"ingest is backed up ({exc})")


class TraceService(_Base, trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):  # noqa: N802 - gRPC method name
        self.principal(context)
        try:
            result = self.collector.ingest_traces(request)
        except SpoolFull as exc:
            self.full(context, "spans", exc)
        response = trace_service_pb2.ExportTraceServiceResponse()
        if result.rejected_count:
            response.partial_success.rejected_spans = result.rejected_count
            response.partial_success.error_message = result.message
        self.collector.metrics.requests.labels("spans", "OK").inc()
        return response


class LogsService(_Base, logs_service_pb2_grpc.LogsServiceServicer):
    def Export(self, request, context):  # noqa: N802 - gRPC method name
        principal = self.principal(context)
        try:
            result = self.collector.ingest_logs(request, principal)
        except SpoolFull as exc:
            self.full(context, "logs", exc)
        response = logs_service_pb2.ExportLogsServiceResponse()
        if result.rejected_count:
            response.partial_success.rejected_log_records = result.rejected_count
            response.partial_success.error_message = result.message
        self.collector.metrics.requests.labels("logs", "OK").inc()
        return response


def start_grpc(
    collector: Collector, auth: Authenticator, host: str, port: int, max_message_bytes: int
) -> grpc.Server:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="rxsight-grpc"),
        options=[("grpc.max_receive_message_length", max_message_bytes)],
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(collector, auth), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(LogsService(collector, auth), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {host}:{port}")
    server.start()
    log.info("OTLP/gRPC listening on %s:%d", host, bound)
    return server
