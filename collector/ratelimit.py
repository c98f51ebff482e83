"""Request rate limits per ingest token: a token bucket each (DESIGN 8).

Written here rather than taken from a rate-limiting package because the answer needs the
wait until the next request would be admitted (Retry-After, RetryInfo), which the
packages at hand do not give for a bucket, and the whole of it is a refill and a compare."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rxsight.config import RateLimit


class Throttled(Exception):
    """The token sent more than its rate: refuse with 429 / RESOURCE_EXHAUSTED + RetryInfo."""

    def __init__(self, token_name: str, limit: RateLimit, retry_after_s: float) -> None:
        super().__init__(
            f"rate limit: token {token_name!r} may send {limit.requests_per_s:g} requests/s "
            f"(bursts of {limit.burst}); retry in {math.ceil(retry_after_s)}s"
        )
        self.retry_after_s = retry_after_s


@dataclass
class _Bucket:
    tokens: float
    refilled_at: float


class RateLimiter:
    """One bucket per token name, filled at requests_per_s up to burst; a request takes one.
    A limit of 0 requests/s admits everything."""

    def __init__(
        self,
        default: RateLimit,
        per_token: dict[str, RateLimit],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._default = default
        self._per_token = per_token
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def limit_of(self, token_name: str) -> RateLimit:
        return self._per_token.get(token_name, self._default)

    def take(self, token_name: str) -> None:
        """Admit one request of this token or raise Throttled with the wait for the next."""
        limit = self.limit_of(token_name)
        if limit.requests_per_s <= 0:
            return
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(token_name)
            if bucket is None:
                bucket = self._buckets[token_name] = _Bucket(float(limit.burst), now)
            elapsed = max(0.0, now - bucket.refilled_at)
            bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.requests_per_s)
            bucket.refilled_at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / limit.requests_per_s
        raise Throttled(token_name, limit, wait)
