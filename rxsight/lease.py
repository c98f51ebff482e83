"""Leases in the store: exactly one process at a time holds a role (the rules scheduler, the
alert dispatcher) among several `rxsight serve` processes sharing one ClickHouse (DESIGN 9).

ClickHouse has no compare-and-set, but it drops an insert whose deduplication token it has
seen: a claim of epoch N+1 is inserted under the token `lease:<name>:<N+1>`, so of two
processes claiming it only one row lands, and each reads back whose it is. The holder renews
every ttl/3 (renew, then check that no later epoch exists); a holder that cannot renew stops
acting at its own deadline, measured from before its renewal, so it never outlives what the
store recorded. A new holder claims only after the last renewal expired by the store's clock,
and starts acting only once every earlier epoch has expired. A process that dies is replaced
within ttl + ttl/3 (< 2 x ttl). Holder names are host + data directory: a process restarted
on its data directory (its spool) takes its own lease back at once.

Embedded chDB needs none of this: one process holds the data directory (its lock), so that
process holds every lease, without a round trip to the store.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from rxsight.store import SqlFiles, Store

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)


def holder_name(data_dir: Path) -> str:
    return f"{socket.gethostname()}:{data_dir}"


class Lease:
    """One named lease; `held` says whether this process may act now."""

    def __init__(self, store: Store, name: str, holder: str, ttl_s: float) -> None:
        self.store = store
        self.name = name
        self.holder = holder
        self.ttl_s = ttl_s
        self.epoch: int | None = None
        self._active_from = 0.0
        self._deadline = 0.0
        self._sole_process = store.embedded

    @property
    def held(self) -> bool:
        if self._sole_process:
            return True
        return self.epoch is not None and self._active_from <= time.monotonic() < self._deadline

    def step(self) -> bool:
        """Renew the lease if this process holds it, claim it if it has expired; returns held."""
        if self._sole_process:
            return True
        started = time.monotonic()
        state = self._state()
        if state["holder"] == self.holder and state["epoch"] is not None:
            self._renew(state, started)
        elif state["epoch"] is None or state["expires_at"] <= state["now"]:
            self._claim(state, started)
        else:
            self.epoch = None
        return self.held

    def _state(self) -> dict:
        row = self.store.query(SQL["lease_state"], {"name": self.name})[0]
        return {
            "epoch": int(row["latest_epoch"]) if row["latest_holder"] else None,
            "holder": row["latest_holder"],
            "expires_at": row["latest_expires_at"],
            "earlier_expires_at": row["earlier_expires_at"],
            "now": row["store_now"],
        }

    def _insert(self, epoch: int, expires_at: datetime, token: str | None) -> None:
        self.store.insert_rows(
            "leases",
            [[self.name, epoch, self.holder, expires_at]],
            ["name", "epoch", "holder", "expires_at"],
            dedup_token=token,
        )

    def _renew(self, state: dict, started: float) -> None:
        epoch = int(state["epoch"])
        expires = _plus(state["now"], self.ttl_s)
        self._insert(epoch, expires, f"lease:{self.name}:{epoch}:{expires.isoformat()}")
        after = self._state()
        if after["epoch"] != epoch or after["holder"] != self.holder:
            self._lose(f"epoch {after['epoch']} is {after['holder']}'s")
            return
        if self.epoch != epoch:  # restarted on our own data dir: ours again, at once
            self._active_from = started
            log.info("lease %s: holding epoch %d again", self.name, epoch)
        self.epoch = epoch
        self._deadline = started + self.ttl_s

    def _claim(self, state: dict, started: float) -> None:
        epoch = int(state["epoch"] or 0) + 1
        self._insert(epoch, _plus(state["now"], self.ttl_s), f"lease:{self.name}:{epoch}")
        after = self._state()
        read_at = time.monotonic()
        if after["epoch"] != epoch or after["holder"] != self.holder:
            self.epoch = None
            return
        # A renewal of the previous epoch may have landed while we claimed: act only once
        # every earlier epoch has expired, by the store's clock.
        wait = max(0.0, (after["earlier_expires_at"] - after["now"]).total_seconds())
        self.epoch = epoch
        self._active_from = read_at + wait
        self._deadline = started + self.ttl_s
        log.info("lease %s: claimed epoch %d as %s", self.name, epoch, self.holder)

    def _lose(self, why: str) -> None:
        if self.epoch is not None:
            log.warning("lease %s: lost epoch %d (%s)", self.name, self.epoch, why)
        self.epoch = None


def _plus(at: datetime, seconds: float) -> datetime:
    from datetime import timedelta

    return at + timedelta(seconds=seconds)


class LeaseKeeper:
    """A thread that steps a lease every ttl/3 and tells its owner when it is gained."""

    def __init__(self, lease: Lease, on_gained: Callable[[], None]) -> None:
        self.lease = lease
        self._on_gained = on_gained
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"lease-{self.lease.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        was_held = False
        while True:
            try:
                self.lease.step()
            except Exception as exc:  # noqa: BLE001 - a store outage: the deadline decides
                log.warning("lease %s: cannot reach the store: %s", self.lease.name, exc)
            # A claim may make us the holder only later (an earlier epoch still running out).
            deadline = time.monotonic() + self.lease.ttl_s / 3
            while not self._stop.is_set() and time.monotonic() < deadline:
                held = self.lease.held
                if held and not was_held:
                    self._on_gained()
                was_held = held
                self._stop.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            if self._stop.is_set():
                return
