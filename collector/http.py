"""Ingest over HTTP: POST /v1/traces, /v1/logs (OTLP/HTTP) and /v1/events."""

from __future__ import annotations

import zlib

import zstandard
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.requests import ClientDisconnect

from collector.api_models import ingest_responses, otlp_openapi, otlp_responses
from collector.inflight import Hold, Overloaded
from collector.refusals import Refusal, http_refusal, refusal_of
from collector.service import Collector, IngestResult
from rxsight.auth import Authenticator, Principal, is_loopback

router = APIRouter(tags=["ingest"])
# An ingest token; with none configured, ingest is accepted from loopback without one.
_INGEST_SECURITY = {"security": [{"bearerAuth": []}, {}]}


def _collector(request: Request) -> Collector:
    return request.app.state.collector


def ingest_principal(request: Request) -> Principal:
    auth: Authenticator = request.app.state.auth
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        principal = auth.from_bearer(header[7:].strip())
        if principal is None or principal.role not in ("ingest", "admin"):
            raise Refusal(401, "Authorization: unknown or invalid bearer token")
        return principal
    host = request.client.host if request.client else None
    if not auth.ingest_tokens_configured and is_loopback(host):
        return Principal(name="loopback", role="ingest", via="loopback")
    if auth.ingest_tokens_configured:
        raise Refusal(401, "Authorization: an ingest token is required (Bearer)")
    raise Refusal(403, "no ingest token is configured, so ingest is accepted from loopback only")


async def read_body(request: Request, limit: int, held: Hold | None = None) -> bytes:
    """The body, decompressed, refused past `limit` bytes before or after decompression;
    `held` grows to the bytes held (raising Overloaded past the in-flight budget)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refusal(413, f"body: {declared} bytes, limit {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"body: more than {limit} bytes")
        if held is not None:
            held.grow(size)
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").lower().strip()
    if encoding in ("", "identity"):
        return body
    if encoding == "zstd":
        out = _unzstd(body, limit)
    elif encoding in ("gzip", "deflate"):
        out = _inflate(body, encoding, limit)
    else:
        raise Refusal(415, f"Content-Encoding: {encoding} is not supported (gzip, deflate, zstd)")
    if len(out) > limit:
        raise Refusal(413, f"body: more than {limit} bytes after decompression")
    if held is not None:
        held.grow(len(body) + len(out))
    return out


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """At most limit + 1 bytes of a gzip or deflate body."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        return inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise Refusal(400, f"body: not valid {encoding} data ({exc})") from None


def _unzstd(body: bytes, limit: int) -> bytes:
    """At most limit + 1 bytes of a zstd body, whether or not its frames declare their size."""
    reader = zstandard.ZstdDecompressor().stream_reader(body, read_across_frames=True)
    try:
        return reader.read(limit + 1)
    except zstandard.ZstdError as exc:
        raise Refusal(400, f"body: not valid zstd data ({exc})") from None


def _refused(signal: str, request: Request, exc: Exception, otlp: bool) -> Response:
    if isinstance(exc, ClientDisconnect):
        # The client hung up before its body arrived: nothing was taken, no one to answer.
        _collector(request).metrics.requests.labels(signal, "disconnected").inc()
        return Response(status_code=400)
    refusal = refusal_of(exc)
    if refusal is None:
        raise exc
    _collector(request).metrics.requests.labels(signal, str(refusal.http_status)).inc()
    if not otlp:
        headers = {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s else {}
        return JSONResponse(
            {"error": refusal.message}, status_code=refusal.http_status, headers=headers
        )
    answer = http_refusal(refusal, request.headers.get("content-type", ""))
    return Response(
        answer.body, status_code=answer.status, media_type=answer.media_type, headers=answer.headers
    )


def _otlp_response(ctype: str, message: Message) -> Response:
    if ctype.startswith("application/json"):
        return Response(json_format.MessageToJson(message), media_type="application/json")
    return Response(message.SerializeToString(), media_type="application/x-protobuf")


async def _ingest(request: Request, signal: str) -> IngestResult:
    collector = _collector(request)
    principal = ingest_principal(request)
    collector.admit(principal)
    limit = collector.config.max_request_bytes
    declared = request.headers.get("content-length", "")
    # The declared length is taken before a byte is read, so that an overloaded server
    # refuses at once; a body without one takes its share as it arrives.
    first = min(int(declared), limit) if declared.isdigit() else 0
    try:
        with collector.inflight.hold(first) as held:
            body = await read_body(request, limit, held)
            return await run_in_threadpool(
                collector.ingest, signal, body, request.headers.get("content-type", ""), principal
            )
    except Overloaded:
        # Read what is left of the body, keeping none of it, so that the client reads the
        # 503 instead of a connection reset while it is still sending.
        async for _ in request.stream():
            pass
        raise


async def _otlp(request: Request, signal: str) -> Response:
    try:
        result = await _ingest(request, signal)
    except Exception as exc:  # noqa: BLE001 - _refused re-raises what is not a refusal
        return _refused(signal, request, exc, otlp=True)
    _collector(request).metrics.requests.labels(signal, "200").inc()
    return _otlp_response(request.headers.get("content-type", ""), otlp_answer(signal, result))


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


@router.post(
    "/v1/traces",
    operation_id="exportTraces",
    openapi_extra={**_INGEST_SECURITY, **otlp_openapi("traces")},
    response_model=None,
    responses=otlp_responses(),
    summary="OTLP/HTTP traces (protobuf or JSON; gzip, deflate or zstd)",
)
async def post_traces(request: Request) -> Response:
    return await _otlp(request, "spans")


@router.post(
    "/v1/logs",
    operation_id="exportLogs",
    openapi_extra={**_INGEST_SECURITY, **otlp_openapi("logs")},
    response_model=None,
    responses=otlp_responses(),
    summary="OTLP/HTTP logs; records whose event.name is a business "
    "event type become business events",
)
async def post_logs(request: Request) -> Response:
    return await _otlp(request, "logs")


@router.post(
    "/v1/events",
    operation_id="ingestEvents",
    openapi_extra=_INGEST_SECURITY,
    # The body is read raw (object, array or NDJSON); its schema: collector.api_models.
    response_model=None,
    responses=ingest_responses(),
    summary="Business events: one object, an array, or NDJSON",
    description="Answers {accepted, duplicates, rejected: [{index, error}]}: 200 when anything "
    "was accepted or was a duplicate of what was (a resend), 400 otherwise. A resent event_id "
    "with other content is rejected as a conflict.",
)
async def post_events(request: Request) -> Response:
    try:
        result = await _ingest(request, "events")
    except Exception as exc:  # noqa: BLE001 - _refused re-raises what is not a refusal
        return _refused("events", request, exc, otlp=False)
    status = 200 if result.accepted or result.duplicates else 400
    _collector(request).metrics.requests.labels("events", str(status)).inc()
    return JSONResponse(
        {"accepted": result.accepted, "duplicates": result.duplicates, "rejected": result.rejected},
        status_code=status,
    )
