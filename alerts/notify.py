"""Delivery: the Notifier seam, Standard Webhooks signing, the webhook Notifier."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from rxsight import __version__
from rxsight.timeutil import utcnow


def secret_key(secret: str) -> bytes:
    """Standard Webhooks: a `whsec_` secret is base64 after the prefix; others are raw bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[6:])
    return secret.encode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: v1,<base64 HMAC-SHA256 of "id.timestamp.body">."""
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class Request:
    """One attempt at one webhook: the frozen body plus what identifies and signs it."""

    notification_id: str
    url: str
    body: bytes
    secret: str | None
    headers: Mapping[str, str]
    timeout: float
    # The configured target (WebhookTarget, EmailTarget): what a notifier needs beyond the URL.
    target: Any = None


@dataclass(frozen=True)
class Outcome:
    status_code: int  # 0 when no HTTP answer came back
    latency_s: float
    error: str
    retry_after: float | None = None
    # Set by notifiers whose codes mean something else (SMTP: 4xx transient, 5xx permanent).
    transient: bool | None = None

    @property
    def delivered(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        if self.transient is not None:
            return self.transient
        # 5xx, 429 and no answer (timeouts, refused connections) are worth another try;
        # any other 4xx means the receiver rejects this request as it is.
        return self.status_code == 0 or self.status_code == 429 or self.status_code >= 500


class Notifier(Protocol):
    """Sends one request, never raises: every failure is an Outcome (retryable or not)."""

    def notify(self, request: Request) -> Outcome: ...

    def close(self) -> None: ...


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - utcnow()).total_seconds())


class WebhookNotifier:
    """POSTs signed JSON with httpx; never raises, every failure becomes an Outcome.

    `timeout` is a total deadline for the attempt (connect, send, headers and body), not a
    per-read limit: a receiver trickling a byte every few seconds cannot hold an attempt
    longer. httpx's own timeouts are per operation, so the request runs on an event loop of
    this notifier's and is cancelled at the deadline."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="alerts-http", daemon=True
        )
        self._thread.start()
        self._client: httpx.AsyncClient = self._on_loop(self._new_client())

    @staticmethod
    async def _new_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(follow_redirects=False)

    def _on_loop(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._on_loop(self._client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _post(self, request: Request, headers: dict[str, str]) -> httpx.Response:
        async with asyncio.timeout(request.timeout):
            return await self._client.post(
                request.url, content=request.body, headers=headers, timeout=request.timeout
            )

    def notify(self, request: Request) -> Outcome:
        ts = int(time.time())
        headers = {
            **request.headers,
            "content-type": "application/json",
            "user-agent": f"rxsight/{__version__}",
            "webhook-id": request.notification_id,
            "webhook-timestamp": str(ts),
            "idempotency-key": request.notification_id,
        }
        if request.secret:
            headers["webhook-signature"] = sign(
                secret_key(request.secret), request.notification_id, ts, request.body
            )
        started = time.perf_counter()
        try:
            resp = self._on_loop(self._post(request, headers))
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(
                0,
                time.perf_counter() - started,
                f"timeout: no complete answer within {request.timeout:g}s",
            )
        except httpx.HTTPError as exc:
            return Outcome(0, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        latency = time.perf_counter() - started
        error = "" if resp.is_success else f"HTTP {resp.status_code}: {resp.text[:200]}"
        retry_after = _retry_after(resp.headers.get("retry-after"))
        return Outcome(resp.status_code, latency, error, retry_after)
