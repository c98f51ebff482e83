"""KPI facts kept per entity (kpi_po_facts, kpi_request_facts, kpi_invoice_facts,
kpi_receipt_facts): brought up to date after ingest, read by the KPI queries, which judge from
the raw facts only what a refresh has not covered (metrics/migrations/055-058)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from rules import public as rules_public
from rxsight.config import Settings
from rxsight.store import SqlFiles, Store
from rxsight.stored import StoredBatch
from rxsight.timeutil import as_utc

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)
# One watermark for every table: a refresh writes them all, then the watermark. Its name
# changes when a table is added, so that the first refresh after the upgrade starts from the
# epoch and writes every entity's row (kpi_facts: 055, 056; kpi_facts_057_058: 057, 058; 059
# keys invoices by canonical supplier).
FACTS = "kpi_facts_059"
_REFRESHES = ("po_facts_refresh", "request_facts_refresh", "receipt_facts_refresh")
_TABLES = ("kpi_po_facts", "kpi_request_facts", "kpi_receipt_facts", "kpi_invoice_facts")
# A refresh counts every fact, whatever its date: the latest instant a DateTime64(3) holds.
_ALL_FACTS_AT = datetime(2299, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
_ALL_FACTS = "2299-12-31 23:59:59.999"
EPOCH = "1970-01-01 00:00:00.000"
INVOICE_ENTITY = ("supplier_id", "invoice_number")
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


def thresholds_digest(settings: Settings) -> str:
    """A digest of the rules' thresholds: an invoice's kept outcome holds under these only."""
    params = rules_public.query_params(settings, _ALL_FACTS_AT)
    return hashlib.sha256(orjson.dumps([params["tk"], params["tv"]])).hexdigest()[:16]


def refresh(store: Store, settings: Settings, margin: timedelta = VISIBILITY_MARGIN) -> None:
    """Rewrite the rows of every entity with facts arrived since the previous refresh."""
    since = watermark(store)
    mark = as_utc(store.query_value("SELECT now64(3, 'UTC')")) - margin
    for name in _REFRESHES:
        store.command(SQL[name], {"since": since, "as_of": _ALL_FACTS})
    _refresh_invoices(store, settings, since)
    if since == EPOCH:
        # Every row was written again (the first refresh after an upgrade): merged now, the
        # queries' FINAL reads one version of each instead of folding two.
        for table in _TABLES:
            store.command(f"OPTIMIZE TABLE {table} FINAL")
    store.command(SQL["facts_watermark_set"], {"name": FACTS, "watermark": _ch(mark)})


def _refresh_invoices(store: Store, settings: Settings, since: str) -> None:
    """The invoices' kept rows: the rules judge the touched invoices (all of them after a
    crosswalk load or a threshold change) with every fact counted."""
    digest = thresholds_digest(settings)
    if store.query_value(SQL["invoice_facts_rewrite_all"], {"since": since, "thresholds": digest}):
        since = EPOCH
    pos = None
    if since != EPOCH:
        bound = {"since": since, "as_of": _ALL_FACTS}
        pos = [row[0] for row in store.query_rows(SQL["invoice_facts_pos"], bound)]
        if not pos:
            return
    run_id = rules_public.stored_findings(
        store,
        settings,
        _ALL_FACTS_AT,
        "unmatched_invoice",
        INVOICE_ENTITY,
        po_numbers=pos,
        with_since=True,
    )
    store.command(
        SQL["invoice_facts_refresh"],
        {"since": since, "as_of": _ALL_FACTS, "findings_run": run_id, "thresholds": digest},
    )


class FactsRefresher:
    """A thread that refreshes the kept KPI facts once at start and then after new facts
    are stored, at most every REFRESH_GAP_S."""

    def __init__(self, store: Store, settings: Callable[[], Settings]) -> None:
        self.store = store
        self.settings = settings
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
                refresh(self.store, self.settings())
            except Exception:  # noqa: BLE001 - readers judge from the facts meanwhile
                log.exception("refreshing the KPI facts failed")
            self._stop.wait(REFRESH_GAP_S)


def _ch(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
