"""Why an ingest request is refused, and how each door says so (the OTLP specification).

OTLP/HTTP: the status code, `Retry-After` on retryable ones, and a `google.rpc.Status` body
in the request's own encoding (binary protobuf for protobuf, proto3 JSON otherwise).
OTLP/gRPC: the status code; back-pressure is RESOURCE_EXHAUSTED with a `RetryInfo` detail,
which is what tells a conforming client that retrying can succeed (without it, it drops)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import grpc
from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status

from collector.events import BodyError, UnsupportedMediaType
from collector.inflight import Overloaded
from collector.otlp.wire import OtlpDecodeError
from collector.ratelimit import Throttled
from collector.spool import LargerThanSpool, SpoolFull
from rxsight.malloc import is_out_of_memory
from rxsight.store import StoreUnavailable

SPOOL_FULL_RETRY_AFTER_S = 2
# Overload passes as requests in flight finish: a second is enough to try again.
OVERLOADED_RETRY_AFTER_S = 1

# The gRPC code of each HTTP refusal. A request too large for this server is permanent:
# INVALID_ARGUMENT, not RESOURCE_EXHAUSTED, which SDKs retry (the Python one even without
# RetryInfo).
_GRPC_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


class Refusal(Exception):
    """An ingest request refused as a whole. retry_after_s is set on retryable refusals."""

    def __init__(self, http_status: int, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.retry_after_s = None if retry_after_s is None else max(1, math.ceil(retry_after_s))

    @property
    def grpc_code(self) -> grpc.StatusCode:
        return _GRPC_CODES[self.http_status]

    def status(self) -> Status:
        status = Status(code=self.grpc_code.value[0], message=self.message)
        if self.retry_after_s is not None:
            status.details.add().Pack(self.retry_info())
        return status

    def retry_info(self) -> RetryInfo:
        return RetryInfo(retry_delay=Duration(seconds=self.retry_after_s or 0))


def refusal_of(exc: Exception) -> Refusal | None:
    """The refusal a collector exception stands for; None for anything unexpected."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, UnsupportedMediaType):
        return Refusal(415, str(exc))
    if isinstance(exc, OtlpDecodeError | BodyError):
        return Refusal(400, str(exc))
    if isinstance(exc, LargerThanSpool):
        return Refusal(413, str(exc))
    if isinstance(exc, SpoolFull):
        return Refusal(429, f"ingest is backed up ({exc}); retry later", SPOOL_FULL_RETRY_AFTER_S)
    if isinstance(exc, Throttled):
        return Refusal(429, str(exc), exc.retry_after_s)
    if isinstance(exc, Overloaded):
        return Refusal(503, str(exc), OVERLOADED_RETRY_AFTER_S)
    if is_out_of_memory(exc):
        # Nothing of the request was kept: the client sends it again once memory is free.
        message = "ingest is out of memory right now; retry later"
        return Refusal(503, message, SPOOL_FULL_RETRY_AFTER_S)
    if isinstance(exc, StoreUnavailable):
        message = f"the store is unavailable ({exc}); retry later"
        return Refusal(503, message, SPOOL_FULL_RETRY_AFTER_S)
    return None


@dataclass(frozen=True)
class HttpRefusal:
    status: int
    body: bytes
    media_type: str
    headers: dict[str, str]


def http_refusal(refusal: Refusal, request_content_type: str) -> HttpRefusal:
    """The OTLP/HTTP answer: Status as protobuf to a protobuf request, else as JSON."""
    headers = {}
    if refusal.retry_after_s is not None:
        headers["Retry-After"] = str(refusal.retry_after_s)
    status = refusal.status()
    if request_content_type.split(";")[0].strip().lower() == "application/x-protobuf":
        return HttpRefusal(
            refusal.http_status, status.SerializeToString(), "application/x-protobuf", headers
        )
    body = json_format.MessageToJson(status, indent=None).encode()
    return HttpRefusal(refusal.http_status, body, "application/json", headers)


def grpc_abort(context: grpc.ServicerContext, refusal: Refusal) -> None:
    """Abort the call with the refusal's code; retryable ones carry RetryInfo both in the
    status details (grpc-status-details-bin, as the specification and the Go SDK read it)
    and as the google.rpc.retryinfo-bin trailer the Python SDK reads."""
    if refusal.retry_after_s is not None:
        context.set_trailing_metadata(
            (
                ("grpc-status-details-bin", refusal.status().SerializeToString()),
                ("google.rpc.retryinfo-bin", refusal.retry_info().SerializeToString()),
            )
        )
    context.abort(refusal.grpc_code, refusal.message)
