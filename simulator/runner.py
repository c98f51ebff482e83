"""Running the world against an rxsight: back-fill as fast as it can take it, then live."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from simulator import crosswalk
from simulator.config import SimConfig
from simulator.emit import Telemetry
from simulator.lifecycle import Replenishment
from simulator.world import World

log = logging.getLogger("simulator")

# Actions run between checks of the stop flag while back-filling.
_SLICE = 2000


@dataclass
class Report:
    anchor: datetime
    transactions: int = 0
    backfill_s: float = 0.0
    backfill_events: int = 0
    backfill_spans: int = 0
    live_s: float = 0.0
    live_events: int = 0
    live_spans: int = 0
    rejected: int = 0
    grpc: bool = True
    # Longest catch-up step while live: well under a second means it kept up with the rate.
    max_step_s: float = 0.0

    @property
    def live_rate(self) -> float:
        """Items (events + spans) sent per second while live."""
        return (self.live_events + self.live_spans) / self.live_s if self.live_s else 0.0

    def summary(self) -> str:
        out = (
            f"back-fill: {self.backfill_events:,} events and {self.backfill_spans:,} spans "
            f"in {self.backfill_s:.1f} s"
        )
        if self.live_s:
            out += (
                f"; live {self.live_s:.0f} s: {self.live_events:,} events, "
                f"{self.live_spans:,} spans ({self.live_rate:,.0f} items/s, "
                f"longest step {self.max_step_s:.2f} s)"
            )
        if self.rejected:
            out += f"; {self.rejected} events rejected (see warnings)"
        return out


def grpc_reachable(endpoint: str, timeout: float = 2.0) -> bool:
    host, _, port = endpoint.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout):
            return True
    except (OSError, ValueError):
        return False


def default_grpc_endpoint(url: str, port: int = 4317) -> str:
    return f"{urlsplit(url).hostname or '127.0.0.1'}:{port}"


def _say(cfg: SimConfig, message: str) -> None:
    if cfg.verbose:
        print(f"simulator: {message}", flush=True)


def run(cfg: SimConfig, stop: threading.Event | None = None) -> Report:
    """Back-fill `cfg.backfill_days`, then emit live until `cfg.duration` passes or `stop`
    is set. Returns what was sent."""
    stop = stop or threading.Event()
    grpc_endpoint = cfg.grpc_endpoint
    if grpc_endpoint and not grpc_reachable(grpc_endpoint):
        _say(cfg, f"OTLP/gRPC at {grpc_endpoint} is not reachable; sending everything over HTTP")
        grpc_endpoint = None
    anchor = cfg.anchor or datetime.now(UTC).replace(microsecond=0)
    started = time.monotonic()
    tel = Telemetry(cfg.url, grpc_endpoint, cfg.token)
    report = Report(anchor=anchor, grpc=grpc_endpoint is not None)
    world = World(cfg, tel, anchor, Replenishment)
    try:
        if cfg.crosswalk_token:
            _say(cfg, crosswalk.load(cfg.url, cfg.crosswalk_token, world.items, world.start))
        _say(cfg, f"back-filling {cfg.backfill_days:g} days up to {anchor:%Y-%m-%d %H:%M:%S} UTC")
        while not stop.is_set() and world.run_until(anchor, _SLICE) == _SLICE:
            pass
        tel.flush()
        report.backfill_s = time.monotonic() - started
        report.backfill_events = tel.counts.events
        report.backfill_spans = tel.counts.spans
        _say(cfg, report.summary())
        if cfg.duration == 0 or stop.is_set():
            return report
        _say(cfg, f"live at {cfg.rate:g} new transactions/s (Ctrl-C stops)")
        live_started = time.monotonic()
        last_flush = last_note = live_started
        while not stop.is_set():
            mono = time.monotonic()
            if cfg.duration is not None and mono - live_started >= cfg.duration:
                break
            now = anchor + timedelta(seconds=mono - started)
            world.run_until(now)
            report.max_step_s = max(report.max_step_s, time.monotonic() - mono)
            if mono - last_flush >= 0.5:
                tel.poster.flush()
                last_flush = mono
            if mono - last_note >= 60:
                last_note = mono
                _note_live(cfg, report, tel, live_started, world)
            due = world.next_due()
            wait = 0.2 if due is None else (due - now).total_seconds()
            stop.wait(min(0.2, max(0.0, wait)))
        tel.flush(timeout=30)
        _fill_live(report, tel, live_started)
        _say(cfg, report.summary())
        return report
    finally:
        report.transactions = world.tx_count
        report.rejected = tel.counts.rejected
        tel.shutdown()


def _fill_live(report: Report, tel: Telemetry, live_started: float) -> None:
    report.live_s = time.monotonic() - live_started
    report.live_events = tel.counts.events - report.backfill_events
    report.live_spans = tel.counts.spans - report.backfill_spans


def _note_live(
    cfg: SimConfig, report: Report, tel: Telemetry, live_started: float, world: World
) -> None:
    _fill_live(report, tel, live_started)
    lag = ""
    due = world.next_due()
    now = report.anchor + timedelta(seconds=time.monotonic() - live_started + report.backfill_s)
    if due is not None and due < now - timedelta(seconds=5):
        lag = f", {(now - due).total_seconds():.0f} s behind"
    _say(
        cfg,
        f"{world.tx_count:,} transactions; live {report.live_events:,} events, "
        f"{report.live_spans:,} spans ({report.live_rate:,.0f} items/s{lag})",
    )
