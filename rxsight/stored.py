"""Notice of rows stored: the seam from the stage that wrote them to the stages that react
(the collector's writer to the rules scheduler, the rules to the alert dispatcher), so that
neither imports the other (DESIGN 2)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredBatch:
    """One batch stored: rows per table, readable by every query once announced."""

    rows: dict[str, int]


StoredListener = Callable[[StoredBatch], None]


class StoredBatches:
    """The listeners to stored batches. They are called on the writer's thread, after its
    insert returned and before its next one starts, so a listener must only take note (set
    an event) and return: work done there delays the writer."""

    def __init__(self) -> None:
        self._listeners: list[StoredListener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: StoredListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: StoredListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self, batch: StoredBatch) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(batch)
            except Exception:  # noqa: BLE001 - a listener's failure must not stop ingest
                log.exception("a stored-batch listener failed")
