"""The durable outbox: notifications stored before sending, retried with back-off, dead-lettered."""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from alerts.config import AlertsConfig, EmailTarget, WebhookTarget
from alerts.notify import Notifier, Outcome, Request
from rxsight import audit
from rxsight.backoff import Backoff
from rxsight.logs import log_context
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)

_COLUMNS = (
    "notification_id",
    "version",
    "at",
    "status",
    "receiver",
    "target_url",
    "target_index",
    "format",
    "group_key",
    "alert_status",
    "firing",
    "resolved",
    "body",
    "created_at",
    "attempts",
    "next_attempt_at",
    "last_error",
    "actor",
)
_ATTEMPT_COLUMNS = (
    "notification_id",
    "attempt",
    "at",
    "receiver",
    "target_url",
    "status_code",
    "latency_ms",
    "outcome",
    "error",
)
# Retry-After is honoured, within reason: a receiver cannot park a notification for days.
_MAX_RETRY_AFTER_S = 6 * 3600


@dataclass(frozen=True)
class Notification:
    """One webhook message to one target; notification_id is its `webhook-id`."""

    notification_id: str
    receiver: str
    target_url: str
    target_index: int
    format: str
    group_key: str
    alert_status: str  # firing | resolved
    firing: tuple[str, ...]
    resolved: tuple[str, ...]
    body: bytes
    created_at: datetime
    attempts: int = 0
    next_attempt_at: datetime | None = None
    status: str = "pending"
    last_error: str = ""

    @staticmethod
    def new_id() -> str:
        return "msg_" + uuid.uuid4().hex


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.notifications = Counter(
            "rxsight_alert_notifications",
            "Webhook delivery attempts by receiver and outcome (delivered, retry, dead)",
            ["receiver", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "rxsight_alert_delivery_latency_seconds",
            "Webhook request latency",
            ["receiver"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )


class Outbox:
    """Writes each notification to the store, then delivers it from a heap of due times.

    A crash at any point leaves the notification `pending` in the store; `load()` at the next
    start picks it up again, so delivery is at least once and the webhook-id never changes."""

    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, Notifier],
        config: Callable[[], AlertsConfig],
        metrics: DeliveryMetrics,
        gate: Callable[[], bool] = lambda: True,
    ) -> None:
        self._store = store
        # False while another process holds the dispatcher lease: nothing is sent from here.
        self._gate = gate
        # "webhook" sends every HTTP format (alertmanager, rxsight, slack, teams); "email" mail.
        self._notifiers = notifiers
        self._config = config
        self._metrics = metrics
        self._heap: list[tuple[float, str]] = []
        self._items: dict[str, Notification] = {}
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._rng = random.Random()

    # ------------------------------------------------------------------ lifecycle
    def load(self) -> int:
        rows = self._store.query(SQL["outbox_pending"])
        for row in rows:
            self._schedule(_from_row(row))
        return len(rows)

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(
            self._config().delivery.workers, thread_name_prefix="alerts-deliver"
        )
        self._thread = threading.Thread(target=self._run, name="alerts-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread:
            self._thread.join(10)
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def wait_idle(self, timeout: float) -> bool:
        """Until no delivery is in flight (each has recorded its outcome in the store)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._inflight:
                    return True
            time.sleep(0.05)
        return False

    @property
    def depth(self) -> int:
        with self._lock:
            return len(self._items)

    # ------------------------------------------------------------------ writing
    def enqueue(self, items: Sequence[Notification]) -> None:
        """Store first (the commit point), then schedule for delivery."""
        if not items:
            return
        now = utcnow()
        self._store.insert_rows(
            "alert_notifications", [_row(n, now, "dispatcher") for n in items], _COLUMNS
        )
        for n in items:
            self._schedule(n)

    def replay(self, notification_id: str, actor: str) -> Notification:
        """A dead letter goes back to pending with a fresh attempt budget, same webhook-id."""
        row = self._store.query(SQL["notification_get"], {"id": notification_id})
        if not row:
            raise KeyError(notification_id)
        current = _from_row(row[0])
        if current.status != "dead":
            raise ValueError(f"notification {notification_id} is {current.status}, not dead")
        now = utcnow()
        again = replace(current, status="pending", attempts=0, next_attempt_at=now, last_error="")
        self._store.insert_rows("alert_notifications", [_row(again, now, actor)], _COLUMNS)
        audit.record(
            self._store,
            actor,
            "replay",
            "alert_notification",
            notification_id,
            {"receiver": current.receiver, "target": current.target_url},
        )
        self._schedule(again)
        return again

    def _schedule(self, n: Notification) -> None:
        due = (n.next_attempt_at or utcnow()).timestamp()
        with self._lock:
            self._items[n.notification_id] = n
            heapq.heappush(self._heap, (due, n.notification_id))
        self._wake.set()

    # ------------------------------------------------------------------ delivering
    def _run(self) -> None:
        while not self._stopping.is_set():
            wait = 1.0
            due: list[Notification] = []
            if not self._gate():
                self._wake.wait(wait)
                self._wake.clear()
                continue
            with self._lock:
                now = time.time()
                while self._heap and self._heap[0][0] <= now:
                    _, nid = heapq.heappop(self._heap)
                    item = self._items.get(nid)
                    if item is None or nid in self._inflight:
                        continue
                    self._inflight.add(nid)
                    due.append(item)
                if self._heap:
                    wait = min(wait, max(0.0, self._heap[0][0] - now))
            for item in due:
                assert self._pool is not None
                try:
                    self._pool.submit(self._deliver, item)
                except RuntimeError:  # pool shut down while stopping
                    return
            self._wake.wait(wait)
            self._wake.clear()

    def _target(self, n: Notification) -> tuple[WebhookTarget | EmailTarget, str | None] | None:
        cfg = self._config()
        for receiver in cfg.receivers:
            if receiver.name != n.receiver:
                continue
            for target in receiver.targets():
                # Targets come from configuration only: a stored URL (or mail route) no longer
                # configured for this receiver is not called.
                if target.target_id == n.target_url:
                    secret = getattr(target, "secret", None) or receiver.secret
                    return target, secret
        return None

    def _deliver(self, n: Notification) -> None:
        try:
            with log_context(receiver=n.receiver, notification_id=n.notification_id):
                self._deliver_once(n)
        except Exception:  # noqa: BLE001 - keep the item; the next start retries it
            log.exception("delivering %s failed", n.notification_id)
            with self._lock:
                self._inflight.discard(n.notification_id)
                heapq.heappush(self._heap, (time.time() + 5, n.notification_id))

    def _deliver_once(self, n: Notification) -> None:
        cfg = self._config()
        target = self._target(n)
        attempt = n.attempts + 1
        if target is None:
            outcome = Outcome(0, 0.0, f"receiver {n.receiver!r} has no target {n.target_url}")
            final = "dead"
        else:
            hook, secret = target
            notifier = self._notifiers["email" if hook.format == "email" else "webhook"]
            outcome = notifier.notify(
                Request(
                    notification_id=n.notification_id,
                    url=hook.target_id,
                    body=n.body,
                    secret=secret,
                    headers=hook.headers,
                    timeout=hook.timeout,
                    target=hook,
                )
            )
            self._metrics.latency.labels(n.receiver).observe(outcome.latency_s)
            if outcome.delivered:
                final = "delivered"
            elif outcome.retryable and attempt < cfg.delivery.max_attempts:
                final = "retry"
            else:
                final = "dead"
        now = utcnow()
        self._store.insert_rows(
            "alert_delivery_attempts",
            [
                [
                    n.notification_id,
                    attempt,
                    now,
                    n.receiver,
                    n.target_url,
                    outcome.status_code,
                    outcome.latency_s * 1000,
                    final,
                    outcome.error[:2000],
                ]
            ],
            _ATTEMPT_COLUMNS,
        )
        self._metrics.notifications.labels(n.receiver, final).inc()
        if final == "retry":
            delay = self._backoff(attempt, outcome.retry_after, cfg)
            updated = replace(
                n,
                attempts=attempt,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=outcome.error,
            )
            self._store.insert_rows("alert_notifications", [_row(updated, now, "outbox")], _COLUMNS)
            with self._lock:
                self._items[n.notification_id] = updated
                self._inflight.discard(n.notification_id)
                heapq.heappush(self._heap, (time.time() + delay, n.notification_id))
            self._wake.set()
            return
        updated = replace(n, attempts=attempt, status=final, last_error=outcome.error)
        self._store.insert_rows("alert_notifications", [_row(updated, now, "outbox")], _COLUMNS)
        if final == "dead":
            log.warning(
                "notification %s to %s dead after %d attempts: %s",
                n.notification_id,
                n.receiver,
                attempt,
                outcome.error,
            )
        with self._lock:
            self._items.pop(n.notification_id, None)
            self._inflight.discard(n.notification_id)

    def _backoff(self, attempt: int, retry_after: float | None, cfg: AlertsConfig) -> float:
        d = cfg.delivery
        delay = Backoff(d.backoff_initial, d.backoff_max, self._rng).delay(attempt)
        if retry_after is not None:
            delay = max(delay, min(retry_after, _MAX_RETRY_AFTER_S))
        return delay


def _row(n: Notification, at: datetime, actor: str) -> list[Any]:
    return [
        n.notification_id,
        time.time_ns(),
        at,
        n.status,
        n.receiver,
        n.target_url,
        n.target_index,
        n.format,
        n.group_key,
        n.alert_status,
        list(n.firing),
        list(n.resolved),
        n.body.decode(),
        n.created_at,
        n.attempts,
        n.next_attempt_at or at,
        n.last_error[:2000],
        actor,
    ]


def _from_row(row: dict[str, Any]) -> Notification:
    return Notification(
        notification_id=row["notification_id"],
        receiver=row["receiver"],
        target_url=row["target_url"],
        target_index=int(row["target_index"]),
        format=row["format"],
        group_key=row["group_key"],
        alert_status=row["alert_status"],
        firing=tuple(row["firing"]),
        resolved=tuple(row["resolved"]),
        body=row["body"].encode() if isinstance(row["body"], str) else bytes(row["body"]),
        created_at=as_utc(row["created_at"]),
        attempts=int(row["attempts"]),
        next_attempt_at=as_utc(row["next_attempt_at"]),
        status=row["status"],
        last_error=row["last_error"],
    )
