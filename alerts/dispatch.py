"""The dispatcher: exception changes become alerts, alerts are grouped per route and flushed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from alerts.alert import Alert, from_exception
from alerts.alertset import AlertSet
from alerts.config import AlertsConfig
from alerts.formats import notifications_for
from alerts.grouping import Group, LogEntry, group_ids, groups_holding, needs_update
from alerts.inhibit import Inhibitor
from alerts.outbox import Notification, Outbox
from alerts.route import RouteNode, compile_tree
from alerts.silence import Silences
from rxsight.store import SqlFiles, Store
from rxsight.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from rules.public import SlaClock

log = logging.getLogger(__name__)
SQL = SqlFiles(__file__)

# Rows are read again this far back, so a change committed a little after a later one (two
# writers, clock skew) is still seen; versions already applied are skipped.
POLL_OVERLAP = timedelta(seconds=30)
# Every so often compare every exception's latest version with ours, whatever its `at`.
RESYNC_EVERY_S = 15.0
SWEEP_EVERY_S = 1.0
# Resolved exceptions this recent are loaded at start: their resolved notice may be owed.
RESOLVED_LOOKBACK = timedelta(days=1)
NFLOG_LOOKBACK = timedelta(days=7)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        silences: Silences,
        config: Callable[[], AlertsConfig],
        console_base: str,
        sla: Callable[[], SlaClock | None] = lambda: None,
        gate: Callable[[], bool] = lambda: True,
    ) -> None:
        self._store = store
        self._sla = sla
        # False while another process holds the dispatcher lease: no polling, no flushing.
        self._gate = gate
        self._outbox = outbox
        self._silences = silences
        self._config = config
        self.console_base = console_base
        self.lock = threading.RLock()
        self.alerts = AlertSet()
        self._by_exception: dict[str, str] = {}
        self._versions: dict[str, int] = {}
        self._routes: dict[str, list[RouteNode]] = {}
        # Alerts routed through a route that escalates: the only ones escalation looks at.
        self._escalating: set[str] = set()
        self.groups: dict[str, Group] = {}
        self._nflog: dict[tuple[str, str], LogEntry] = {}
        self.inhibited: dict[str, list[str]] = {}
        self._inhibition_stale = True
        self._tree: RouteNode | None = None
        self._inhibitor = Inhibitor(())
        self._watermark: datetime | None = None
        self._last_resync = 0.0
        self._last_sweep = 0.0
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def load(self) -> None:
        """Rebuild alert state from the exception history and the notification log."""
        now = utcnow()
        since = now - NFLOG_LOOKBACK
        for row in self._store.query(SQL["nflog"], {"since": since}):
            self._nflog[(row["group_key"], row["receiver"])] = LogEntry(
                frozenset(row["firing"]), frozenset(row["resolved"]), as_utc(row["sent_at"])
            )
        stored = self._store.query(SQL["exception_versions"])
        versions = {r["exception_id"]: int(r["version"]) for r in stored}
        rows = self._store.query(SQL["exception_current"], {"since": now - RESOLVED_LOOKBACK})
        # Built before taking the lock: at a million exceptions that is most of a minute the
        # alerts page (and the dispatcher's own polls) would otherwise wait.
        sla = self._sla()
        built = [(row, from_exception(row, self.console_base, sla)) for row in rows]
        with self.lock:
            self.apply_config(self._config())
            live, self._versions = self._versions, versions
            for row, alert in built:
                if int(row["version"]) < live.get(row["exception_id"], 0):
                    continue  # a poll (lease gained again) applied a later one meanwhile
                self._versions.pop(row["exception_id"], None)
                self._apply(row, now, alert)
            for eid, version in live.items():
                self._versions[eid] = max(version, self._versions.get(eid, 0))
        self._watermark = now - POLL_OVERLAP
        self._last_resync = time.monotonic()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alerts-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread:
            self._thread.join(10)

    def poke(self) -> None:
        """Re-evaluate now (a silence changed, the config was reloaded)."""
        self._wake.set()

    def apply_config(self, cfg: AlertsConfig) -> None:
        """A new routing tree: re-route every alert. Group keys of unchanged routes are the
        same, so the notification log still stops repeats."""
        with self.lock:
            self._tree = compile_tree(cfg)
            self._inhibitor = Inhibitor(cfg.inhibit_rules)
            self.groups.clear()
            self._routes.clear()
            self._escalating.clear()
            self._inhibition_stale = True
            now = utcnow()
            for alert in self.alerts.values():
                self._route(alert, now)

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._gate():
                self._wake.wait(self._config().poll_interval)
                self._wake.clear()
                continue
            try:
                self.tick()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - a store outage must not kill the thread
                if self.last_error != str(exc):
                    log.exception("alert dispatch failed")
                self.last_error = str(exc)
            poll = self._config().poll_interval
            with self.lock:
                nxt = min((g.next_flush for g in self.groups.values()), default=None)
            wait = poll if nxt is None else max(0.0, min(poll, nxt - time.time()))
            self._wake.wait(wait)
            self._wake.clear()

    # ------------------------------------------------------------------ one step
    def tick(self) -> None:
        now = utcnow()
        changed = self._poll(now)
        with self.lock:
            wall = time.time()
            # Inhibition walks every alert and moves only when alerts (or the rules) change.
            # Escalation is due by the clock, and a second is finer than any escalate_after.
            # With 100,000 alerts, doing them on every 0.25 s tick kept an idle server busy.
            if changed or self._inhibition_stale:
                self.inhibited = self._inhibitor.inhibited(self.alerts.values())
                self._inhibition_stale = False
            if changed or wall - self._last_sweep >= SWEEP_EVERY_S:
                self._escalate(now)
                self._last_sweep = wall
            for group in list(self.groups.values()):
                if group.next_flush <= wall:
                    self._flush(group, now)
            self._gc(now)
        self._silences.gc(now)

    def _poll(self, now: datetime) -> int:
        """Apply the exception changes since the last poll; returns how many were new."""
        assert self._watermark is not None
        rows = self._store.query(SQL["exception_changes"], {"since": self._watermark})
        applied = self._apply_all(rows, now)
        self._watermark = now - POLL_OVERLAP
        if time.monotonic() - self._last_resync >= RESYNC_EVERY_S and self._behind():
            stale = [
                r["exception_id"]
                for r in self._store.query(SQL["exception_versions"])
                if int(r["version"]) > self._versions.get(r["exception_id"], 0)
            ]
            if stale:
                applied += self._apply_all(
                    self._store.query(SQL["exception_latest"], {"ids": stale}), now
                )
        return applied

    def _apply_all(self, rows: list[dict[str, Any]], now: datetime) -> int:
        with self.lock:
            return sum(
                self._apply(row, now)
                for row in sorted(rows, key=lambda r: (r["exception_id"], int(r["version"])))
            )

    def _behind(self) -> bool:
        """Whether some exception has a version not applied here. Two figures, not every
        exception's version: at a million, reading those every 15 s kept the server busy."""
        self._last_resync = time.monotonic()
        [total] = self._store.query(SQL["exception_version_total"])
        with self.lock:
            ours = (len(self._versions), sum(self._versions.values()))
        return (int(total["exceptions"]), int(total["versions"])) != ours

    def _apply(self, row: dict[str, Any], now: datetime, built: Alert | None = None) -> bool:
        eid = str(row["exception_id"])
        version = int(row["version"])
        if version <= self._versions.get(eid, 0):
            return False  # seen already: the poll re-reads an overlap on purpose
        self._versions[eid] = version
        new = built or from_exception(row, self.console_base, self._sla())
        old_fp = self._by_exception.get(eid)
        old = self.alerts.get(old_fp) if old_fp else None
        if old is not None and old.fingerprint != new.fingerprint and old.firing:
            # Labels changed (say, another reason): the old alert ends, a new one starts.
            self.alerts.end(old, new.updated_at)
        if old is None and not new.firing and new.updated_at < now - RESOLVED_LOOKBACK:
            return True
        prev = self.alerts.get(new.fingerprint)
        if prev is not None and prev.firing and new.firing:
            new.starts_at = prev.starts_at
            new.escalated_by_change = new.escalated_by_change or prev.escalated_by_change
        elif row.get("change") == "reopened" or (prev is not None and new.firing):
            new.starts_at = new.updated_at
        self.alerts.put(new)
        self._by_exception[eid] = new.fingerprint
        self._route(new, now)
        return True

    # ------------------------------------------------------------------ routing, groups
    def _route(self, alert: Alert, now: datetime) -> None:
        if self._tree is None:
            return
        nodes = self._routes.get(alert.fingerprint)
        if nodes is None:
            nodes = self._tree.match(alert.labels)
            self._routes[alert.fingerprint] = nodes
            if any(node.opts.escalation_receiver for node in nodes):
                self._escalating.add(alert.fingerprint)
        for node in nodes:
            self._add(alert, node, node.opts.receiver, escalation=False, now=now)

    def _add(self, alert: Alert, node: RouteNode, receiver: str, *, escalation: bool, now):
        labels = node.group_labels(alert.labels)
        group_id, key = group_ids(node, labels, escalation)
        group = self.groups.get(group_id)
        if group is None:
            group = Group(
                id=group_id,
                key=key,
                route=node,
                receiver=receiver,
                labels=labels,
                escalation=escalation,
                next_flush=time.time() + node.opts.group_wait,
            )
            self.groups[group_id] = group
        alert.receivers.add(receiver)
        if alert.fingerprint in group.fingerprints:
            return
        group.fingerprints.add(alert.fingerprint)
        # As in Alertmanager: an alert older than group_wait does not wait for company.
        if not group.flushed and alert.starts_at + timedelta(seconds=node.opts.group_wait) < now:
            group.next_flush = min(group.next_flush, time.time())

    def _escalate(self, now: datetime) -> None:
        for fp in self._escalating:
            alert = self.alerts[fp]
            for node in self._routes.get(fp, ()):
                opts = node.opts
                if not opts.escalation_receiver:
                    continue
                due = opts.escalate_after is not None and (
                    now - alert.starts_at >= timedelta(seconds=opts.escalate_after)
                )
                unacked = not alert.acknowledged and (due or alert.escalated_by_change)
                if alert.firing and (unacked or alert.sla_breached(now)):
                    self._add(alert, node, opts.escalation_receiver, escalation=True, now=now)
                elif alert.acknowledged:
                    # Acknowledged: escalation stops, quietly.
                    group_id, _ = group_ids(node, node.group_labels(alert.labels), True)
                    group = self.groups.get(group_id)
                    if group is not None:
                        group.fingerprints.discard(alert.fingerprint)

    def muted_by(self, alert: Alert, now: datetime) -> tuple[list[str], list[str]]:
        return self._silences.muting(alert.labels, now), self.inhibited.get(alert.fingerprint, [])

    def _flush(self, group: Group, now: datetime) -> None:
        opts = group.route.opts
        members = [self.alerts[fp] for fp in sorted(group.fingerprints) if fp in self.alerts]
        visible = [a for a in members if not any(self.muted_by(a, now))]
        firing = {a.fingerprint for a in visible if a.firing}
        resolved = {a.fingerprint for a in visible if not a.firing}
        entry = self._nflog.get((group.key, group.receiver))
        if needs_update(entry, firing, resolved, opts.repeat_interval, now):
            items = self._notifications(group, visible, firing, resolved, now)
            try:
                self._outbox.enqueue(items)
            except Exception:
                # Not stored, so not sent and not logged: try again shortly.
                group.next_flush = time.time() + 1.0
                raise
            self._nflog[(group.key, group.receiver)] = LogEntry(
                frozenset(firing), frozenset(resolved), now
            )
        group.flushed = True
        group.next_flush = time.time() + opts.group_interval
        # Resolved alerts leave the group once a flush has seen them.
        group.fingerprints -= {a.fingerprint for a in members if not a.firing}
        group.fingerprints = {fp for fp in group.fingerprints if fp in self.alerts}
        if not group.fingerprints:
            del self.groups[group.id]

    def _notifications(
        self,
        group: Group,
        alerts: list[Alert],
        firing: set[str],
        resolved: set[str],
        now: datetime,
    ) -> list[Notification]:
        cfg = self._config()
        receiver = next((r for r in cfg.receivers if r.name == group.receiver), None)
        if receiver is None:
            log.warning("route %s names unknown receiver %s", group.route.key, group.receiver)
            return []
        # Firing first, then resolved, each oldest first: what a person reads top down.
        ordered = sorted(alerts, key=lambda a: (not a.firing, a.starts_at, a.fingerprint))
        return notifications_for(
            receiver,
            group_key=group.key,
            group_labels=group.labels,
            alerts=ordered,
            external_url=self.console_base,
            escalation=group.escalation,
            firing=sorted(firing),
            resolved=sorted(resolved),
            now=now,
        )

    def _groups_of(self, alert: Alert, *, escalation: bool) -> Iterator[Group]:
        routes = self._routes.get(alert.fingerprint, ())
        return groups_holding(self.groups, routes, alert, escalation)

    def _grouped(self, alert: Alert) -> bool:
        return any(self._groups_of(alert, escalation=False)) or any(
            self._groups_of(alert, escalation=True)
        )

    def _gc(self, now: datetime) -> None:
        keep = timedelta(seconds=self._config().resolved_retention)
        for alert in [
            a
            for a in self.alerts.oldest_resolved()
            if a.ends_at and a.ends_at < now - keep and not self._grouped(a)
        ]:
            fp = alert.fingerprint
            self.alerts.pop(fp)
            self._routes.pop(fp, None)
            self._escalating.discard(fp)
            if self._by_exception.get(alert.exception_id) == fp:
                del self._by_exception[alert.exception_id]

    # ------------------------------------------------------------------ reading
    def snapshot(self) -> list[dict[str, Any]]:
        """Every alert with its state: firing, suppressed (silenced / inhibited) or resolved."""
        return self.board()[1]

    def board(self, show: int | None = None) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """How many alerts are in each state (firing, suppressed: silenced / inhibited,
        resolved), and the alerts with their state, oldest first: every one, or with `show`
        the `show` oldest of each state. The counts and orders are kept as alerts change
        (alerts.alertset): at a million alerts, walking them all per request took seconds."""
        now = utcnow()
        with self.lock:
            self.alerts.mute(self._silences.active(now))
            counts, shown = self.alerts.by_state(self.inhibited, show)
            out = [self._describe(alert, state, now) for state in shown for alert in shown[state]]
        out.sort(key=lambda a: (a["startsAt"] or "", a["fingerprint"]))
        return counts, out

    def _describe(self, alert: Alert, state: str, now: datetime) -> dict[str, Any]:
        silenced, inhibited = self.muted_by(alert, now)
        return {
            **alert.as_json(),
            "receivers": sorted(alert.receivers),
            "escalated": any(self._groups_of(alert, escalation=True)),
            "status": {"state": state, "silencedBy": silenced, "inhibitedBy": inhibited},
        }
