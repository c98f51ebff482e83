"""The alerts stage as a service: config (with reload), silences, dispatcher and outbox."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import watchfiles
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts import config as alerts_config
from alerts.alert import Alert
from alerts.config import AlertsConfig
from alerts.dispatch import Dispatcher
from alerts.formats import notifications_for
from alerts.labelset import fingerprint, labelset_string
from alerts.mail import EmailNotifier
from alerts.notify import WebhookNotifier
from alerts.outbox import DeliveryMetrics, Outbox
from alerts.silence import Silences
from rules import public as rules_public
from rules.public import SlaClock
from rxsight import audit
from rxsight.config import ConfigError, Settings
from rxsight.lease import Lease, LeaseKeeper, holder_name
from rxsight.runtime import Runtime
from rxsight.stored import StoredBatch
from rxsight.timeutil import utcnow

log = logging.getLogger(__name__)
# What migration 020 sets; another value is applied at start.
DEFAULT_RETENTION_DAYS = 90
# A file written in several steps settles within this before it is read again.
WATCH_DEBOUNCE_MS = 500


class _Gauges(Collector):
    def __init__(self, service: AlertsService) -> None:
        self._service = service

    def collect(self) -> Iterable[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "rxsight_alert_outbox_depth", "Notifications stored and not yet delivered or dead"
        )
        depth.add_metric([], self._service.outbox.depth)
        yield depth
        states = GaugeMetricFamily("rxsight_alerts", "Alerts by state", labels=["state"])
        counts, _ = self._service.dispatcher.board(show=0)
        for state, n in counts.items():
            states.add_metric([state], n)
        yield states


def _sla_clock(settings: Settings) -> SlaClock | None:
    """The exceptions' SLA clock escalates too; a bad `rules.sla` is the rules stage's to
    report (it refuses to start), so here it only means no clock."""
    try:
        return rules_public.sla_clock(settings)
    except ValueError:
        return None


class AlertsService:
    def __init__(self, runtime: Runtime, cfg: AlertsConfig) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.store = runtime.store
        self.config = cfg
        self.last_reload_error: list[str] | None = None
        base = (
            settings.config.console_url
            or cfg.external_url
            or f"http://{settings.host}:{settings.port}"
        )
        self.console_base = base.rstrip("/")
        self.notifiers = {"webhook": WebhookNotifier(), "email": EmailNotifier()}
        self.metrics = DeliveryMetrics(runtime.registry)
        # One dispatcher among the processes sharing the store: the others wait on the lease.
        self.lease = Lease(
            self.store,
            "alerts-dispatcher",
            holder_name(settings.data_dir),
            settings.config.lease_ttl_s,
        )
        self._keeper = LeaseKeeper(self.lease, self._lease_gained)
        self._started = False
        gate = lambda: self.lease.held  # noqa: E731
        self.outbox = Outbox(
            self.store, self.notifiers, lambda: self.config, self.metrics, gate=gate
        )
        self.silences = Silences(self.store)
        self.sla = _sla_clock(settings)
        self.dispatcher = Dispatcher(
            self.store,
            self.outbox,
            self.silences,
            lambda: self.config,
            self.console_base,
            lambda: self.sla,
            gate=gate,
        )
        runtime.registry.register(_Gauges(self))
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self.silences.load()
        if self.config.retention_days != DEFAULT_RETENTION_DAYS:
            self._apply_retention(self.config.retention_days)
        if not self.config.enabled:
            log.info("alerts: dispatcher disabled in this process (alerts.enabled: false)")
            return
        self.runtime.stored.subscribe(self._rows_stored)
        self._keeper.start()
        if self.runtime.settings.config_path is not None:
            self._watcher = threading.Thread(target=self._watch, name="alerts-config", daemon=True)
            self._watcher.start()

    def _apply_retention(self, days: int) -> None:
        # TTL takes no bound parameters; `days` is a validated integer from the config.
        for table in ("alert_notifications", "alert_delivery_attempts"):
            self.store.command(
                f"ALTER TABLE {table} MODIFY TTL toDateTime(at) + INTERVAL {int(days)} DAY"
            )

    def _lease_gained(self) -> None:
        """This process now holds the dispatcher lease: state from the store, then deliver.
        After a lease lost and gained again, the state the other holder left is read anew,
        once this process's own deliveries in flight have recorded their outcome (else one
        delivered meanwhile would be read back as pending and sent again)."""
        if self._started and not self.outbox.wait_idle(60):
            log.warning("alerts: deliveries still in flight after 60 s; reading pending anyway")
        pending = self.outbox.load()
        if pending:
            log.info("alerts: %d notifications pending in the store", pending)
        self.dispatcher.load()
        if not self._started:
            self._started = True
            self.outbox.start()
            self.dispatcher.start()
        self.dispatcher.poke()

    def _rows_stored(self, batch: StoredBatch) -> None:
        # Exception changes the rules just wrote: dispatch now, not at the next poll.
        if rules_public.EXCEPTIONS_TABLE in batch.rows:
            self.dispatcher.poke()

    def stop(self) -> None:
        self.runtime.stored.unsubscribe(self._rows_stored)
        self._stopping.set()
        self._keeper.stop()
        self.dispatcher.stop()
        self.outbox.stop()
        for notifier in self.notifiers.values():
            notifier.close()

    # ------------------------------------------------------------------ config reload
    def _watch(self) -> None:
        """Reload when the config file changes. Editors and config management replace the
        file (write a new one, rename it over), so its folder is watched for its name."""
        path = Path(self.runtime.settings.config_path or "").absolute()
        for _changes in watchfiles.watch(
            path.parent,
            watch_filter=lambda _change, changed: Path(changed).name == path.name,
            recursive=False,
            stop_event=self._stopping,
            debounce=WATCH_DEBOUNCE_MS,
        ):
            self.reload("config-file-watch")

    def reload(self, actor: str) -> list[str]:
        """Read the alerts section again; on any problem the running config stays active.
        Returns the problems ("file: path: reason"), empty when the new config is live.
        Audited either way, under `actor` (a person, or the file watch)."""
        try:
            cfg = alerts_config.reread(self.runtime.settings)
        except ConfigError as exc:
            problems = [f"{exc.source}: {p}" for p in exc.problems]
            self.last_reload_error = problems
            log.error("alerts config rejected, previous config stays active: %s", problems)
            audit.record(
                self.store, actor, "reload", "alerts_config", "alerts", {"problems": problems}
            )
            return problems
        self.config = cfg
        self.last_reload_error = None
        self.dispatcher.apply_config(cfg)
        self.dispatcher.poke()
        log.info("alerts config reloaded")
        audit.record(self.store, actor, "reload", "alerts_config", "alerts", {"problems": []})
        return []

    # ------------------------------------------------------------------ test alerts
    def send_test(self, receiver_name: str, actor: str) -> list[str]:
        """A synthetic alert to every target of a receiver, through the outbox like any other."""
        receiver = next((r for r in self.config.receivers if r.name == receiver_name), None)
        if receiver is None:
            raise KeyError(receiver_name)
        now = utcnow()
        labels = {"alertname": "rxsight_test", "receiver": receiver_name, "severity": "info"}
        alert = Alert(
            fingerprint=fingerprint(labels),
            exception_id="test-" + uuid.uuid4().hex[:12],
            labels=labels,
            annotations={
                "summary": f"Test notification for {receiver_name}, sent by {actor}",
                "console": self.console_base,
            },
            starts_at=now,
            ends_at=None,
            updated_at=now,
            version=0,
            console_url=self.console_base,
        )
        # A group of its own, outside the routing tree (the root route's key).
        group_labels = {"alertname": "rxsight_test"}
        items = notifications_for(
            receiver,
            group_key="{}:" + labelset_string(group_labels),
            group_labels=group_labels,
            alerts=[alert],
            external_url=self.console_base,
            escalation=False,
            firing=[alert.fingerprint],
            resolved=[],
            now=now,
        )
        # Not part of the notification log: a test never stops a real notification.
        items = [replace(n, group_key="") for n in items]
        self.outbox.enqueue(items)
        audit.record(self.store, actor, "test_alert", "alert_receiver", receiver_name, {})
        return [n.notification_id for n in items]
