"""The dispatcher's alerts by fingerprint, kept in the orders and counts the console reads.

At a million alerts, counting them by state and picking the oldest of each meant walking
every alert (and asking every silence about each) on each request: seconds, with the
dispatcher's lock held. Here each change updates the firing and resolved alerts in start
order and the firing alerts the active silences mute, so a read costs what it shows."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice

from sortedcontainers import SortedList

from alerts.alert import Alert
from alerts.matchers import all_match
from alerts.silence import Silence


def start_order(alert: Alert) -> tuple[datetime, str]:
    """Oldest first; the fingerprint orders alerts that started at the same instant."""
    return (alert.starts_at, alert.fingerprint)


class AlertSet:
    def __init__(self) -> None:
        self._by_fp: dict[str, Alert] = {}
        # (starts_at, fingerprint) of the firing alerts, and of the resolved ones.
        self._firing: SortedList = SortedList()
        self._resolved: SortedList = SortedList()
        # The silences active when `silenced` was last worked out (see `mute`).
        self._silences: tuple[Silence, ...] = ()
        # Firing alert -> ids of the active silences muting it (in the silences' order).
        self.silenced: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._by_fp)

    def __contains__(self, fp: object) -> bool:
        return fp in self._by_fp

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_fp)

    def __getitem__(self, fp: str) -> Alert:
        return self._by_fp[fp]

    def get(self, fp: str) -> Alert | None:
        return self._by_fp.get(fp)

    def values(self) -> Iterator[Alert]:
        return iter(self._by_fp.values())

    def is_firing(self, fp: str) -> bool:
        alert = self._by_fp.get(fp)
        return alert is not None and alert.firing

    def put(self, alert: Alert) -> None:
        """Add an alert, or replace the one with the same fingerprint."""
        old = self._by_fp.get(alert.fingerprint)
        if old is not None:
            self._unindex(old)
        self._by_fp[alert.fingerprint] = alert
        self._index(alert)

    def pop(self, fp: str) -> Alert:
        alert = self._by_fp.pop(fp)
        self._unindex(alert)
        return alert

    def end(self, alert: Alert, at: datetime) -> None:
        """A firing alert of this set resolves at `at`."""
        self._unindex(alert)
        alert.ends_at = at
        alert.updated_at = at
        self._index(alert)

    def oldest_firing(self, n: int | None = None) -> Iterator[Alert]:
        """Firing alerts, oldest first (the first `n`, or all)."""
        return self._in_order(self._firing, n)

    def oldest_resolved(self, n: int | None = None) -> Iterator[Alert]:
        return self._in_order(self._resolved, n)

    def _in_order(self, keys: SortedList, n: int | None) -> Iterator[Alert]:
        chosen = keys if n is None else islice(keys, n)
        return (self._by_fp[fp] for _, fp in chosen)

    def by_state(
        self, inhibited: Mapping[str, object], show: int | None
    ) -> tuple[dict[str, int], dict[str, list[Alert]]]:
        """How many alerts are firing, suppressed (silenced, or in `inhibited`) and resolved,
        and the `show` oldest of each state (all with None). As of the last `mute`."""
        muted = set(self.silenced) | {fp for fp in inhibited if self.is_firing(fp)}
        counts = {
            "firing": len(self._firing) - len(muted),
            "suppressed": len(muted),
            "resolved": len(self._resolved),
        }
        firing = (a for a in self.oldest_firing() if a.fingerprint not in muted)
        suppressed = (self._by_fp[fp] for fp in muted)
        return counts, {
            "firing": list(firing if show is None else islice(firing, show)),
            "suppressed": (
                sorted(suppressed, key=start_order)
                if show is None
                else heapq.nsmallest(show, suppressed, key=start_order)
            ),
            "resolved": list(self.oldest_resolved(show)),
        }

    def mute(self, active: Sequence[Silence]) -> None:
        """Work out which firing alerts the silences active now mute. Only when those
        silences change (created, edited, started, ended) is every firing alert asked
        again; alerts that change meanwhile are asked as they are put."""
        active = tuple(active)
        if [(s.id, s.version) for s in active] == [(s.id, s.version) for s in self._silences]:
            return
        self._silences = active
        self.silenced = {}
        if active:
            for _, fp in self._firing:
                self._mute_one(self._by_fp[fp])

    def _mute_one(self, alert: Alert) -> None:
        ids = [s.id for s in self._silences if all_match(s.matchers, alert.labels)]
        if ids:
            self.silenced[alert.fingerprint] = ids

    def _index(self, alert: Alert) -> None:
        if alert.firing:
            self._firing.add(start_order(alert))
            if self._silences:
                self._mute_one(alert)
        else:
            self._resolved.add(start_order(alert))

    def _unindex(self, alert: Alert) -> None:
        (self._firing if alert.firing else self._resolved).remove(start_order(alert))
        self.silenced.pop(alert.fingerprint, None)
