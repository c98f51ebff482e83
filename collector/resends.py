"""Resent events answered truthfully: the same event_id with the same content is a duplicate,
with other content a conflict (refused, naming when the stored version arrived)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from collector.writer import json_lists
from rxsight.store import SqlFiles, Store, StoreUnavailable
from rxsight.timeutil import as_utc, rfc3339

SQL = SqlFiles(__file__)
# Events accepted by this process are remembered (event_id -> content hash and arrival) until
# this many newer ones came: by then they are in the store, where the lookup finds them.
_REMEMBERED = 500_000


@dataclass
class Verdicts:
    duplicates: set[int] = field(default_factory=set)  # indexes
    conflicts: dict[int, str] = field(default_factory=dict)  # index -> error

    def __bool__(self) -> bool:
        return bool(self.duplicates or self.conflicts)


class ResentEvents:
    """Which of a request's accepted events were sent before. What this process accepted is
    found in memory (it may still sit in the spool); what an earlier process stored, in the
    store. Without the store (an outage), only memory answers and the writer's own event_id
    check still keeps the first version alone."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._seen: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    def claim(
        self, events: list[tuple[int, str, str, int]], received_at: datetime
    ) -> tuple[Verdicts, list[str]]:
        """Verdicts for the request's events (index, event_id, correlation_id, hash); the new
        ones are claimed, so a concurrent resend is a duplicate. Returns the claimed IDs,
        for release() should the request not be spooled after all."""
        stored = self._stored(events)
        verdicts = Verdicts()
        claimed: list[str] = []
        with self._lock:
            for index, event_id, _, digest in events:
                earlier = self._seen.get(event_id) or stored.get(event_id)
                if earlier is None:
                    self._seen[event_id] = (digest, received_at)
                    claimed.append(event_id)
                elif earlier[0] in (digest, 0):
                    verdicts.duplicates.add(index)
                else:
                    verdicts.conflicts[index] = (
                        f"event_id: {event_id!r} was stored with different content at "
                        f"{rfc3339(earlier[1])} (conflict); send new content under a new event_id"
                    )
            if len(self._seen) > _REMEMBERED:
                for event_id in list(self._seen)[: len(self._seen) - _REMEMBERED]:
                    del self._seen[event_id]
        return verdicts, claimed

    def release(self, claimed: list[str]) -> None:
        with self._lock:
            for event_id in claimed:
                self._seen.pop(event_id, None)

    def _stored(self, events: list[tuple[int, str, str, int]]) -> dict[str, tuple[int, datetime]]:
        wanted = {event_id for _, event_id, _, _ in events if event_id not in self._seen}
        if not wanted:
            return {}
        correlation_ids = sorted({cid for _, event_id, cid, _ in events if event_id in wanted})
        found: dict[str, tuple[int, datetime]] = {}
        try:
            for ids in json_lists(correlation_ids, self._store.bound_parameter_bytes):
                for event_id, digest, at in self._store.query_rows(
                    SQL["stored_event_versions"], {"correlation_ids": ids}
                ):
                    if event_id in wanted:
                        found[event_id] = (digest, as_utc(at))
        except StoreUnavailable:
            return found
        return found
