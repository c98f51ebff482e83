"""Scheduled KPI exports: the latest due run on first start, nothing twice, every run missed
while down caught up; each written whole, audited and recorded for the console."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from metrics.config import KpisConfig, ScheduledExport
from metrics.scheduler import ExportScheduler, due_instants, recent_runs
from rxsight import audit
from rxsight.config import ConfigError, Settings, load_settings
from rxsight.runtime import Runtime
from rxsight.store import Store
from tests.support import store_events


def _runtime(store: Store, settings: Settings) -> Runtime:
    return Runtime(settings=settings, store=store, registry=CollectorRegistry(), auth=None)  # type: ignore[arg-type]


def test_due_runs_first_start_then_nothing_twice_then_catch_up(
    store: Store, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path)
    out = tmp_path / "exports"
    daily = ScheduledExport(
        every="day", format="csv", dir=str(out), at="06:00", timezone="America/New_York"
    )
    scheduler = ExportScheduler(_runtime(store, settings), KpisConfig(exports=(daily,)))
    store_events(
        store,
        {
            "event_type": "goods.received",
            "correlation_id": "C1",
            "site": "s",
            "receipt_id": "R1",
            "po_number": "P1",
            "at": datetime(2026, 11, 2, 15, 0, tzinfo=UTC),
        },
        {
            "event_type": "receipt.posted",
            "correlation_id": "C1",
            "site": "s",
            "receipt_id": "R1",
            "po_number": "P1",
            "at": datetime(2026, 11, 2, 15, 12, tzinfo=UTC),
        },
    )
    # 2026-11-03 12:00 UTC = 07:00 in New York: today's 06:00 run is due, for 2026-11-02.
    first = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    made = scheduler.run_due(first)
    assert [(r["period"], r["status"]) for r in made] == [("day 2026-11-02", "ok")]
    written = out / "rxsight-kpis-day-2026-11-02.csv"
    rows = list(csv.DictReader(written.open()))
    latency = [r for r in rows if r["kpi"] == "receipt_posting_latency_minutes_p95"]
    assert [(r["group"], r["period"], float(r["value"])) for r in latency] == [
        ("", "2026-11-02", 12.0),
        ("site=s", "2026-11-02", 12.0),
    ]
    assert scheduler.run_due(first + timedelta(hours=5)) == []  # done already

    # Down for three days: each missed day's run, oldest first, then nothing more.
    later = first + timedelta(days=3)
    made = scheduler.run_due(later)
    assert [r["period"] for r in made] == ["day 2026-11-03", "day 2026-11-04", "day 2026-11-05"]
    assert scheduler.run_due(later) == []
    assert sorted(p.name for p in out.iterdir()) == [
        f"rxsight-kpis-day-2026-11-0{d}.csv" for d in (2, 3, 4, 5)
    ]  # no temporary files left beside them
    entries, total = audit.entries(store, action="kpis.export")
    assert total == 4 and {e["actor"] for e in entries} == {"kpi-export-scheduler"}
    assert [r["period"] for r in recent_runs(_runtime(store, settings))][:2] == [
        "day 2026-11-05",
        "day 2026-11-04",
    ]


def test_a_failed_run_is_recorded_and_tried_again(store: Store, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the directory should be")
    weekly = ScheduledExport(every="week", format="xlsx", dir=str(blocker / "sub"))
    scheduler = ExportScheduler(_runtime(store, settings), KpisConfig(exports=(weekly,)))
    now = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    made = scheduler.run_due(now)
    assert [(r["period"], r["status"]) for r in made] == [("week 2026-W46", "failed")]
    assert made[0]["error"]
    assert audit.entries(store, action="kpis.export_failed")[1] == 1
    blocker.unlink()
    assert [r["status"] for r in scheduler.run_due(now)] == ["ok"]
    assert (blocker / "sub" / "rxsight-kpis-week-2026-W46.xlsx").stat().st_size > 0


def test_monthly_instants_are_local_and_a_bad_schedule_is_named(tmp_path: Path) -> None:
    monthly = ScheduledExport(every="month", dir="x", at="06:30", timezone="Europe/Paris")
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert due_instants(monthly, datetime(2026, 9, 30, tzinfo=UTC), now) == [
        datetime(2026, 10, 1, 4, 30, tzinfo=UTC),  # CEST
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # CET
        datetime(2026, 12, 1, 5, 30, tzinfo=UTC),
    ]
    config = tmp_path / "rxsight.yaml"
    config.write_text("kpis:\n  exports:\n    - {every: fortnight, dir: x, at: '25:00'}\n")
    from metrics import check_config

    problems = check_config(load_settings(data_dir=tmp_path, config_path=config))
    assert any("kpis.exports.0.every" in p for p in problems)
    assert any("kpis.exports.0.at" in p and "HH:MM" in p for p in problems)
    with pytest.raises(ConfigError):
        from metrics.config import parse_kpis_config

        parse_kpis_config(load_settings(data_dir=tmp_path, config_path=config))
