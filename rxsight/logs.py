"""Log lines as JSON, each carrying the IDs of what it is about (DESIGN 10).

The IDs live in a context variable: a request, a rule run or a delivery sets them once
(`log_context`) and every line logged inside, in any module, carries them. Threads started
from a context (FastAPI's worker threads) get a copy."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

# The IDs a line may carry, in the order they are written.
CONTEXT_KEYS = ("request_id", "correlation_id", "rule_id", "receiver", "notification_id")
_context: ContextVar[dict[str, str]] = ContextVar("rxsight_log_context", default={})  # noqa: B039 - never mutated


@contextlib.contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Adds IDs to every log line inside the block (None leaves an ID out)."""
    given = {k: str(v) for k, v in ids.items() if v is not None and v != ""}
    unknown = set(given) - set(CONTEXT_KEYS)
    if unknown:
        raise ValueError(f"unknown log context keys: {sorted(unknown)}")
    token = _context.set({**_context.get(), **given})
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, str]:
    return dict(_context.get())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ids = _context.get()
        for key in CONTEXT_KEYS:
            # `extra={...}` on one call wins over the context.
            value = getattr(record, key, None) or ids.get(key)
            if value:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


class RequestContext:
    """ASGI middleware: every log line of an HTTP request carries its request ID (the
    caller's X-Request-ID, else a new one, echoed back) and the X-Correlation-ID it names."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = _header(headers, b"x-request-id") or uuid.uuid4().hex
        correlation_id = _header(headers, b"x-correlation-id")

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with log_context(request_id=request_id, correlation_id=correlation_id):
            await self.app(scope, receive, send_with_id)


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    raw = headers.get(name)
    if not raw:
        return None
    # An ID from outside goes into log lines: printable and short, else it is not used.
    text = raw.decode("latin-1")[:128]
    return text if text.isprintable() else None
