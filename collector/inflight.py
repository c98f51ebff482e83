"""The bytes of ingest requests held in memory at once, bounded (`ingest.max_inflight_bytes`).

A request holds its share from the first byte read until it is spooled: its body as read,
then as decompressed. Past the bound the request is refused at once as retryable (503 +
Retry-After, gRPC UNAVAILABLE + RetryInfo), before its body is read, instead of the process
running out of memory part-way through a hundred of them."""

from __future__ import annotations

import threading
from types import TracebackType


class Overloaded(Exception):
    """No room for this request now: refuse it as retryable."""


class InFlight:
    """A byte budget shared by the HTTP and gRPC doors; thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._held = 0
        self._lock = threading.Lock()

    @property
    def held_bytes(self) -> int:
        return self._held

    def hold(self, n: int) -> Hold:
        """A share of n bytes, released when the `with` block ends; raises Overloaded."""
        share = Hold(self)
        share.grow(n)
        return share

    def _take(self, n: int) -> None:
        with self._lock:
            # One request alone always gets in: a budget smaller than a request would
            # otherwise refuse it forever (config check refuses such a budget anyway).
            if self._held and self._held + n > self.max_bytes:
                raise Overloaded(
                    f"ingest is overloaded: {self._held} bytes of requests are being "
                    f"processed (limit {self.max_bytes}); retry later"
                )
            self._held += n

    def _give(self, n: int) -> None:
        with self._lock:
            self._held -= n


class Hold:
    def __init__(self, budget: InFlight) -> None:
        self._budget = budget
        self.bytes = 0

    def grow(self, to: int) -> None:
        """Hold `to` bytes in all (a body that grew by decompression); raises Overloaded."""
        if to > self.bytes:
            self._budget._take(to - self.bytes)
            self.bytes = to

    def __enter__(self) -> Hold:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._budget._give(self.bytes)
        self.bytes = 0
