"""OTLP/gRPC on port 4317: the trace and logs Export methods, answered like OTLP/HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures

import grpc
from google.protobuf.message import Message

from collector.http import otlp_answer
from collector.refusals import Refusal, grpc_abort, refusal_of
from collector.service import Collector
from rxsight.auth import Authenticator, Principal, is_loopback

log = logging.getLogger(__name__)
_SERVICES = {
    "spans": "opentelemetry.proto.collector.trace.v1.TraceService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
}


def _peer_host(context: grpc.ServicerContext) -> str | None:
    peer = context.peer() or ""  # "ipv4:127.0.0.1:5555" or "ipv6:[::1]:5555"
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return None


class _Export:
    """One Export method. The request stays raw bytes here (no deserializer): the decode
    workers parse it, exactly as for OTLP/HTTP protobuf."""

    def __init__(self, signal: str, collector: Collector, auth: Authenticator) -> None:
        self.signal = signal
        self.collector = collector
        self.auth = auth

    def principal(self, context: grpc.ServicerContext) -> Principal:
        meta = dict(context.invocation_metadata() or ())
        header = meta.get("authorization", "")
        if header.lower().startswith("bearer "):
            principal = self.auth.from_bearer(header[7:].strip())
            if principal and principal.role in ("ingest", "admin"):
                return principal
            raise Refusal(401, "authorization: invalid bearer token")
        if not self.auth.ingest_tokens_configured and is_loopback(_peer_host(context)):
            return Principal(name="loopback", role="ingest", via="loopback")
        raise Refusal(401, "authorization: an ingest token is required")

    def __call__(self, body: bytes, context: grpc.ServicerContext) -> Message:
        metrics = self.collector.metrics.requests
        try:
            principal = self.principal(context)
            self.collector.admit(principal)
            with self.collector.inflight.hold(len(body)):
                result = self.collector.ingest(
                    self.signal, body, "application/x-protobuf", principal
                )
        except Exception as exc:  # noqa: BLE001 - what is not a refusal is re-raised
            refusal = refusal_of(exc)
            if refusal is None:
                raise
            metrics.labels(self.signal, refusal.grpc_code.name).inc()
            grpc_abort(context, refusal)
            raise AssertionError("unreachable") from None  # abort raises
        metrics.labels(self.signal, "OK").inc()
        return otlp_answer(self.signal, result)


def _handler(export: Callable[[bytes, grpc.ServicerContext], Message]) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        export, request_deserializer=None, response_serializer=lambda m: m.SerializeToString()
    )


def start_grpc(
    collector: Collector, auth: Authenticator, host: str, port: int, max_message_bytes: int
) -> grpc.Server:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="rxsight-grpc"),
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            # gRPC listens with SO_REUSEADDR (a restart within TIME_WAIT works) and, unless
            # told otherwise, SO_REUSEPORT too, which would let a second server share the
            # port silently instead of being told it is taken.
            ("grpc.so_reuseport", 0),
        ],
    )
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                service, {"Export": _handler(_Export(signal, collector, auth))}
            )
            for signal, service in _SERVICES.items()
        ]
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {host}:{port}")
    server.start()
    log.info("OTLP/gRPC listening on %s:%d", host, bound)
    return server
