"""KPI facts kept per entity (kpi_po_facts, kpi_request_facts): brought up to date after
ingest, read by the KPI queries, which judge from the raw facts only what a refresh has not
covered (metrics/migrations/055, 056)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from rxsight.store import SqlFiles, Store
from rxsight.stored import StoredBatch
from rxsight.timeutil import as_utc

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)
# One watermark for both tables: a refresh writes both, then the watermark.
FACTS = "kpi_facts"
_REFRESHES = ("po_facts_refresh", "request_facts_refresh")
# A refresh counts every fact, whatever its date: the latest instant a DateTime64(3) holds.
_ALL_FACTS = "2299-12-31 23:59:59.999"
# Facts are stamped on arrival by the database clock; an insert stamped before a refresh's
# watermark may become visible only after the refresh read, so the watermark trails the
# clock. What arrived within the margin is judged from its facts until the next refresh.
VISIBILITY_MARGIN = timedelta(seconds=60)
# After new facts, a refresh at most this often: each costs about what judging the POs
# touched since the previous one costs.
REFRESH_GAP_S = 10.0


def watermark(store: Store) -> str:
    """The watermark of the latest refresh, as a query parameter (the epoch before any)."""
    return _ch(as_utc(store.query_value(SQL["facts_watermark"], {"name": FACTS})))


def refresh(store: Store, margin: timedelta = VISIBILITY_MARGIN) -> None:
    """Rewrite the rows of every entity with facts arrived since the previous refresh."""
    since = watermark(store)
    mark = as_utc(store.query_value("SELECT now64(3, 'UTC')")) - margin
    for name in _REFRESHES:
        store.command(SQL[name], {"since": since, "as_of": _ALL_FACTS})
    store.command(SQL["facts_watermark_set"], {"name": FACTS, "watermark": _ch(mark)})


class FactsRefresher:
    """A thread that refreshes the kept KPI facts once at start and then after new facts
    are stored, at most every REFRESH_GAP_S."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._due = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def stored(self, batch: StoredBatch) -> None:
        # On the announcing stage's thread: take note and return. The kept facts derive from
        # business events alone.
        if "business_events" in batch.rows:
            self._due.set()

    def start(self) -> None:
        self._due.set()
        self._thread = threading.Thread(target=self._run, name="kpi-facts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._due.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._due.wait()
            if self._stop.is_set():
                return
            self._due.clear()
            try:
                refresh(self.store)
            except Exception:  # noqa: BLE001 - readers judge from the facts meanwhile
                log.exception("refreshing the KPI facts failed")
            self._stop.wait(REFRESH_GAP_S)


def _ch(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
