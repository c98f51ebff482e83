"""Retried OTLP span requests, recognised: a client that never saw its answer sends the same
body again, and spans have no idempotency key of their own (events have event_id), so
without this a retry stores every span twice and the rules count it twice.

Held in memory for a window longer than exporters retry (the SDKs give up within a minute,
the Collector's otlphttp after 5 min by default); after a restart a retry of a request
acknowledged before it is stored again, and the API's reads still show each span once."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

WINDOW_S = 600.0
CAPACITY = 50_000

Answer = TypeVar("Answer")


class RecentRequests(Generic[Answer]):
    """The answers given to request bodies acknowledged in the last `window_s`, by digest."""

    def __init__(
        self,
        window_s: float = WINDOW_S,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.capacity = capacity
        self._clock = clock
        self._answers: OrderedDict[bytes, tuple[float, Answer]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: str | bytes) -> bytes:
        digest = hashlib.blake2b(digest_size=20)
        for part in parts:
            data = part.encode() if isinstance(part, str) else part
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
        return digest.digest()

    def answer_for(self, key: bytes) -> Answer | None:
        now = self._clock()
        with self._lock:
            self._forget(now)
            held = self._answers.get(key)
            return held[1] if held else None

    def remember(self, key: bytes, answer: Answer) -> None:
        now = self._clock()
        with self._lock:
            self._answers[key] = (now, answer)
            self._answers.move_to_end(key)
            self._forget(now)

    def _forget(self, now: float) -> None:
        while self._answers:
            oldest, (at, _) = next(iter(self._answers.items()))
            if now - at <= self.window_s and len(self._answers) <= self.capacity:
                return
            del self._answers[oldest]
