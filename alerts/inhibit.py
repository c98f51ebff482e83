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
        alerts = list(alerts)
        firing = [a for a in alerts if a.firing]
        out: dict[str, list[str]] = {}
        for rule in self._rules:
            sources = [a for a in firing if all_match(rule.source, a.labels)]
            if not sources:
                continue
            for target in alerts:
                if not all_match(rule.target, target.labels):
                    continue
                # As in Alertmanager: an alert matching both sides cannot be muted by another
                # alert that also matches both sides, nor by itself.
                both = all_match(rule.source, target.labels)
                for src in sources:
                    if src.fingerprint == target.fingerprint:
                        continue
                    if both and all_match(rule.target, src.labels):
                        continue
                    if all(src.labels.get(k, "") == target.labels.get(k, "") for k in rule.equal):
                        out.setdefault(target.fingerprint, []).append(src.fingerprint)
        return out
