"""Label matchers and the routing tree: which routes (receiver, grouping, timers) take an alert."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from alerts.config import AlertsConfig, Route

# Alertmanager's defaults for timers a route and its parents leave unset.
DEFAULT_GROUP_WAIT = 30.0
DEFAULT_GROUP_INTERVAL = 300.0
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


class MatcherError(ValueError):
    """A matcher that cannot be parsed (the message says why)."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def make(cls, name: str, op: str, value: str) -> Matcher:
        if op not in ("=", "!=", "=~", "!~"):
            raise MatcherError(f"unknown operator {op!r}")
        regex = None
        if op in ("=~", "!~"):
            try:
                # Anchored, as in Prometheus and Alertmanager.
                regex = re.compile(f"(?:{value})\\Z")
            except re.error as exc:
                raise MatcherError(f"invalid regular expression {value!r}: {exc}") from exc
        return cls(name, op, value, regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        # A missing label matches as the empty string, as in Alertmanager.
        got = labels.get(self.name, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        assert self._regex is not None
        hit = self._regex.match(got) is not None
        return hit if self.op == "=~" else not hit

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.op in ("=~", "!~"),
            "isEqual": self.op in ("=", "=~"),
        }

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        return inner.replace('\\"', '"').replace("\\\\", "\\")
    return text


def parse_matcher(item: str | Mapping[str, Any]) -> Matcher:
    """`family="unmatched_invoice"`, `site=~"A|B"`, or the API form
    {"name", "value", "isRegex", "isEqual"}."""
    if isinstance(item, Mapping):
        try:
            name, value = str(item["name"]), str(item["value"])
        except KeyError as exc:
            raise MatcherError(f"a matcher needs {exc.args[0]!r}") from None
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise MatcherError(f"{name!r} is not a label name")
        regex, equal = bool(item.get("isRegex", False)), bool(item.get("isEqual", True))
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        return Matcher.make(name, op[(regex, equal)], value)
    m = _MATCHER.match(str(item))
    if not m:
        raise MatcherError(f"{item!r} is not a matcher (label=value, !=, =~ or !~)")
    return Matcher.make(m.group(1), m.group(2), _unquote(m.group(3)))


def parse_matchers(items: Iterable[str | Mapping[str, Any]]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(i) for i in items)


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


@dataclass(frozen=True)
class RouteOpts:
    receiver: str
    group_by: tuple[str, ...] | None  # None: everything in one group; ("...",): by all labels
    group_wait: float
    group_interval: float
    repeat_interval: float
    escalate_after: float | None
    escalation_receiver: str | None


@dataclass
class RouteNode:
    """One node of the compiled tree; `key` identifies it in group keys (Alertmanager style)."""

    key: str
    matchers: tuple[Matcher, ...]
    opts: RouteOpts
    continue_: bool
    children: list[RouteNode]

    def match(self, labels: Mapping[str, str]) -> list[RouteNode]:
        """The routes that take an alert: depth first, first matching child unless it says
        `continue`; the node itself when no child takes it."""
        if not all_match(self.matchers, labels):
            return []
        out: list[RouteNode] = []
        for child in self.children:
            got = child.match(labels)
            out += got
            if got and not child.continue_:
                break
        return out or [self]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        by = self.opts.group_by
        if by is None:
            return {}
        if "..." in by:
            return dict(labels)
        return {k: labels[k] for k in by if labels.get(k)}

    def walk(self) -> Iterable[RouteNode]:
        yield self
        for child in self.children:
            yield from child.walk()


def _matchers_of(route: Route) -> tuple[Matcher, ...]:
    out = list(parse_matchers(route.matchers))
    out += [Matcher.make(k, "=", v) for k, v in route.match.items()]
    out += [Matcher.make(k, "=~", v) for k, v in route.match_re.items()]
    return tuple(out)


def compile_tree(cfg: AlertsConfig) -> RouteNode | None:
    if cfg.route is None:
        return None
    root = cfg.route
    base = RouteOpts(
        receiver=root.receiver or "",
        group_by=None,
        group_wait=DEFAULT_GROUP_WAIT,
        group_interval=DEFAULT_GROUP_INTERVAL,
        repeat_interval=DEFAULT_REPEAT_INTERVAL,
        escalate_after=None,
        escalation_receiver=None,
    )
    return _compile(root, base, "", 0)


def _compile(route: Route, parent: RouteOpts, parent_key: str, index: int) -> RouteNode:
    matchers = _matchers_of(route)
    opts = RouteOpts(
        receiver=route.receiver or parent.receiver,
        group_by=route.group_by if route.group_by is not None else parent.group_by,
        group_wait=route.group_wait if route.group_wait is not None else parent.group_wait,
        group_interval=(
            route.group_interval if route.group_interval is not None else parent.group_interval
        ),
        repeat_interval=(
            route.repeat_interval if route.repeat_interval is not None else parent.repeat_interval
        ),
        # Escalation is inherited, like the timers, so a team-wide policy sits on one route.
        escalate_after=(
            route.escalate_after if route.escalate_after is not None else parent.escalate_after
        ),
        escalation_receiver=route.escalation_receiver or parent.escalation_receiver,
    )
    if not parent_key:
        key = "{}"
    else:
        inner = ",".join(str(m) for m in matchers)
        key = f"{parent_key}/{{{inner}}}/{index}"
    node = RouteNode(key=key, matchers=matchers, opts=opts, continue_=route.continue_, children=[])
    node.children = [_compile(c, opts, key, i) for i, c in enumerate(route.routes)]
    return node
