"""Ingest over HTTP: POST /v1/traces, /v1/logs (OTLP/HTTP) and /v1/events."""

from __future__ import annotations

import zlib

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from collector.events import BodyError, UnsupportedMediaType
from collector.otlp import OtlpDecodeError
from collector.service import Collector, IngestResult
from collector.spool import SpoolFull
from rxsight.auth import Authenticator, Principal, is_loopback

RETRY_AFTER_S = "2"
router = APIRouter(tags=["ingest"])


class IngestRefused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        self.status, self.message, self.headers = status, message, headers or {}


def _collector(request: Request) -> Collector:
    return request.app.state.collector


def ingest_principal(request: Request) -> Principal:
    auth: Authenticator = request.app.state.auth
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        principal = auth.from_bearer(header[7:].strip())
        if principal is None or principal.role not in ("ingest", "admin"):
            raise IngestRefused(401, "Authorization: unknown or invalid bearer token")
        return principal
    host = request.client.host if request.client else None
    if not auth.ingest_tokens_configured and is_loopback(host):
        return Principal(name="loopback", role="ingest", via="loopback")
    if auth.ingest_tokens_configured:
        raise IngestRefused(401, "Authorization: an ingest token is required (Bearer)")
    raise IngestRefused(
        403, "no ingest token is configured, so ingest is accepted from loopback only"
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, gunzipped, refused past `limit` bytes before or after decompression."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise IngestRefused(413, f"body: {declared} bytes, limit {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise IngestRefused(413, f"body: more than {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").lower().strip()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise IngestRefused(415, f"Content-Encoding: {encoding} is not supported (gzip, deflate)")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise IngestRefused(400, f"body: not valid {encoding} data ({exc})") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise IngestRefused(413, f"body: more than {limit} bytes after decompression")
    return out


def _refusal(signal: str, request: Request, exc: IngestRefused) -> Response:
    _collector(request).metrics.requests.labels(signal, str(exc.status)).inc()
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)


def _otlp_response(ctype: str, message: Message) -> Response:
    if ctype.startswith("application/json"):
        return Response(json_format.MessageToJson(message), media_type="application/json")
    return Response(message.SerializeToString(), media_type="application/x-protobuf")


async def _otlp(request: Request, signal: str) -> Response:
    collector = _collector(request)
    ctype = request.headers.get("content-type", "")
    try:
        principal = ingest_principal(request)
        body = await read_body(request, collector.config.max_request_bytes)
        result = await run_in_threadpool(collector.ingest, signal, body, ctype, principal)
    except IngestRefused as exc:
        return _refusal(signal, request, exc)
    except OtlpDecodeError as exc:
        return _refusal(signal, request, IngestRefused(400, str(exc)))
    except UnsupportedMediaType as exc:
        return _refusal(signal, request, IngestRefused(415, str(exc)))
    except SpoolFull as exc:
        return _refusal(
            signal,
            request,
            IngestRefused(
                429, f"ingest is backed up ({exc}); retry later", {"Retry-After": RETRY_AFTER_S}
            ),
        )
    collector.metrics.requests.labels(signal, "200").inc()
    return _otlp_response(ctype, otlp_answer(signal, result))


def otlp_answer(signal: str, result: IngestResult) -> Message:
    """The OTLP Export*ServiceResponse, with partial_success when items were rejected."""
    if signal == "spans":
        answer: Message = ExportTraceServiceResponse()
        if result.rejected_count:
            answer.partial_success.rejected_spans = result.rejected_count
            answer.partial_success.error_message = result.message
    else:
        answer = ExportLogsServiceResponse()
        if result.rejected_count:
            answer.partial_success.rejected_log_records = result.rejected_count
            answer.partial_success.error_message = result.message
    return answer


@router.post("/v1/traces", summary="OTLP/HTTP traces (protobuf or JSON, gzip)")
async def post_traces(request: Request) -> Response:
    return await _otlp(request, "spans")


@router.post(
    "/v1/logs",
    summary="OTLP/HTTP logs; records whose event.name is a business "
    "event type become business events",
)
async def post_logs(request: Request) -> Response:
    return await _otlp(request, "logs")


@router.post(
    "/v1/events",
    summary="Business events: one object, an array, or NDJSON",
    description="Answers {accepted, duplicates, rejected: [{index, error}]}: 200 when anything "
    "was accepted or was a duplicate of what was (a resend), 400 otherwise. A resent event_id "
    "with other content is rejected as a conflict.",
)
async def post_events(request: Request) -> Response:
    collector = _collector(request)
    try:
        principal = ingest_principal(request)
        body = await read_body(request, collector.config.max_request_bytes)
        result = await run_in_threadpool(
            collector.ingest, "events", body, request.headers.get("content-type", ""), principal
        )
    except IngestRefused as exc:
        return _refusal("events", request, exc)
    except BodyError as exc:
        return _refusal("events", request, IngestRefused(400, str(exc)))
    except UnsupportedMediaType as exc:
        return _refusal("events", request, IngestRefused(415, str(exc)))
    except SpoolFull as exc:
        return _refusal(
            "events",
            request,
            IngestRefused(
                429, f"ingest is backed up ({exc}); retry later", {"Retry-After": RETRY_AFTER_S}
            ),
        )
    status = 200 if result.accepted or result.duplicates else 400
    collector.metrics.requests.labels("events", str(status)).inc()
    return JSONResponse(
        {"accepted": result.accepted, "duplicates": result.duplicates, "rejected": result.rejected},
        status_code=status,
    )
