"""Scheduled KPI exports: written atomically, audited, recorded, missed runs caught up."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from metrics.config import KpisConfig, ScheduledExport
from metrics.exports import build_report, render, write_atomically
from metrics.periods import Period, containing
from rxsight import audit
from rxsight.runtime import Runtime
from rxsight.store import SqlFiles
from rxsight.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)
ACTOR = "kpi-export-scheduler"
# A schedule never seen before runs its latest due instant only; after that, each missed one.
MAX_CATCH_UP = 400


def due_instants(export: ScheduledExport, after: datetime | None, now: datetime) -> list[datetime]:
    """The run instants of a schedule in (after, now], oldest first; with no `after`, the
    latest one only. An instant is `at` on the first day of each period, local time."""
    zone = ZoneInfo(export.timezone)
    hour, minute = (int(x) for x in export.at.split(":"))

    def instant(p: Period) -> datetime:
        return datetime.combine(p.first_day, time(hour, minute), zone).astimezone(UTC)

    period = containing(export.every, now, export.timezone)
    if instant(period) > now:
        period = period.previous()
    out: list[datetime] = []
    while len(out) < MAX_CATCH_UP:
        when = instant(period)
        if after is not None and when <= after:
            break
        out.append(when)
        if after is None:
            break
        period = period.previous()
    return out[::-1]


def period_for(export: ScheduledExport, due: datetime) -> Period:
    """A run exports the period that ended when its own began (the site-local calendar of the
    schedule's zone picks the period; the rows follow DESIGN 7a's zones)."""
    return containing(export.every, due, export.timezone).previous()


class ExportScheduler:
    """Looks every `check_every_s` for due exports of the `kpis.exports` schedules."""

    def __init__(self, runtime: Runtime, config: KpisConfig) -> None:
        self.runtime = runtime
        self.config = config
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.config.exports:
            return
        self._thread = threading.Thread(target=self._loop, name="kpi-exports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due(utcnow())
            except Exception:  # noqa: BLE001 - the next tick tries again
                log.exception("scheduled KPI exports failed")
            self._stop.wait(self.config.check_every_s)

    def run_due(self, now: datetime) -> list[dict[str, Any]]:
        """Every due run not yet done, oldest first; returns the attempts made."""
        store = self.runtime.store
        done = {s: as_utc(d) for s, d in store.query_rows(SQL["export_last_done"])}
        attempts = []
        for export in self.config.exports:
            for due in due_instants(export, done.get(export.schedule_id), now):
                if self._stop.is_set():
                    return attempts
                attempts.append(self._run(export, due, now))
        return attempts

    def _run(self, export: ScheduledExport, due: datetime, now: datetime) -> dict[str, Any]:
        store, settings = self.runtime.store, self.runtime.settings
        period = period_for(export, due)
        row: dict[str, Any] = {
            "schedule": export.schedule_id,
            "due_at": due,
            "period": f"{period.kind} {period.label}",
            "ran_at": utcnow(),
            "status": "ok",
            "file": "",
            "bytes": 0,
            "error": "",
        }
        try:
            report = build_report(store, settings, period, now)
            data = render(report, export.format)
            target = export.directory(settings) / report.filename(export.format)
            write_atomically(target, data)
            row.update(file=str(target), bytes=len(data))
        except Exception as exc:  # noqa: BLE001 - recorded, audited, retried next tick
            log.warning("scheduled KPI export %s failed: %s", export.schedule_id, exc)
            row.update(status="failed", error=str(exc)[:1000])
        store.insert_rows("kpi_export_runs", [list(row.values())], list(row))
        audit.record(
            store,
            ACTOR,
            "kpis.export" if row["status"] == "ok" else "kpis.export_failed",
            "kpi_export",
            export.schedule_id,
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()},
        )
        return row


def recent_runs(runtime: Runtime, limit: int = 20) -> list[dict[str, Any]]:
    return runtime.store.query(SQL["export_runs_recent"], {"limit": limit})


def next_due(export: ScheduledExport, now: datetime) -> datetime:
    """The next run instant after `now` (for the console)."""
    later = now + timedelta(days=32)
    return next(d for d in due_instants(export, now, later) if d > now)
