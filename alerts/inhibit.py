"""Inhibition: a firing source alert mutes target alerts that share the `equal` labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alerts.alert import Alert
from alerts.config import InhibitRule
from alerts.matchers import Matcher, all_match, parse_matchers


@dataclass(frozen=True)
class _Rule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


class Inhibitor:
    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self._rules = [
            _Rule(parse_matchers(r.source_matchers), parse_matchers(r.target_matchers), r.equal)
            for r in rules
        ]

    def inhibited(self, alerts: Iterable[Alert]) -> dict[str, list[str]]:
        """fingerprint of each inhibited alert -> fingerprints of the alerts inhibiting it."""
        out: dict[str, list[str]] = {}
        if not self._rules:
            return out
        alerts = list(alerts)
        firing = [a for a in alerts if a.firing]
        for rule in self._rules:
            # Sources by their `equal` labels: a target asks only those sharing its own.
            sources: dict[tuple[str, ...], list[Alert]] = {}
            for a in firing:
                if all_match(rule.source, a.labels):
                    sources.setdefault(_values(a, rule.equal), []).append(a)
            if not sources:
                continue
            for target in alerts:
                candidates = sources.get(_values(target, rule.equal))
                if not candidates or not all_match(rule.target, target.labels):
                    continue
                # As in Alertmanager: an alert matching both sides cannot be muted by another
                # alert that also matches both sides, nor by itself.
                both = all_match(rule.source, target.labels)
                for src in candidates:
                    if src.fingerprint == target.fingerprint:
                        continue
                    if both and all_match(rule.target, src.labels):
                        continue
                    out.setdefault(target.fingerprint, []).append(src.fingerprint)
        return out


def _values(alert: Alert, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(alert.labels.get(k, "") for k in names)
