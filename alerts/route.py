"""The routing tree: which routes (receiver, grouping, timers) take an alert, and the group
key each gives it, as Alertmanager's dispatcher computes them (dispatch/route.go)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from alerts.config import AlertsConfig, Route
from alerts.labelset import labelset_string
from alerts.matchers import Matcher, all_match, matchers_string, parse_matchers, sorted_matchers

# Alertmanager's defaults for timers a route and its parents leave unset.
DEFAULT_GROUP_WAIT = 30.0
DEFAULT_GROUP_INTERVAL = 300.0
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0


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
    """One node of the compiled tree. `key` is Alertmanager's route key (the parent's key, `/`,
    this route's sorted matchers), which group keys start with; two sibling routes with the
    same matchers share it. `id` adds the position among siblings and is unique."""

    key: str
    id: str
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

    def group_key(self, labels: Mapping[str, str]) -> str:
        """Alertmanager's groupKey for an alert this route takes: `<route key>:<group labels>`."""
        return f"{self.key}:{labelset_string(self.group_labels(labels))}"

    def walk(self) -> Iterable[RouteNode]:
        yield self
        for child in self.children:
            yield from child.walk()


def route_matchers(route: Route) -> tuple[Matcher, ...]:
    """A route's matchers, sorted as Alertmanager sorts them. Old-style `match_re` values are
    kept in their anchored form `^(?:VALUE)$`, as Alertmanager 0.25 prints them in route keys."""
    out = list(parse_matchers(route.matchers))
    out += [Matcher.make(k, "=", v) for k, v in route.match.items()]
    out += [Matcher.make(k, "=~", f"^(?:{v})$") for k, v in route.match_re.items()]
    return sorted_matchers(out)


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
    return _compile(root, base, None, 0)


def _inherit(value: float | None, parent: float | None) -> float | None:
    return value if value is not None else parent


def _compile(route: Route, parent: RouteOpts, parent_key: str | None, index: int) -> RouteNode:
    matchers = route_matchers(route)
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
        escalate_after=_inherit(route.escalate_after, parent.escalate_after),
        escalation_receiver=route.escalation_receiver or parent.escalation_receiver,
    )
    own = matchers_string(matchers)
    key = own if parent_key is None else f"{parent_key}/{own}"
    node = RouteNode(
        key=key,
        id=key if parent_key is None else f"{key}/{index}",
        matchers=matchers,
        opts=opts,
        continue_=route.continue_,
        children=[],
    )
    node.children = [_compile(c, opts, key, i) for i, c in enumerate(route.routes)]
    return node


@dataclass(frozen=True)
class RouteMatch:
    """One route an alert takes: what `amtool config routes test` prints, plus the group key."""

    receiver: str
    group_key: str
    route_id: str
    group_labels: dict[str, str]


def routes_test(tree: RouteNode | None, labels: Mapping[str, str]) -> list[RouteMatch]:
    """The receivers a label set reaches, in order, each with the group key it would use."""
    if tree is None:
        return []
    clean = {k: v for k, v in labels.items() if v != ""}
    return [
        RouteMatch(n.opts.receiver, n.group_key(clean), n.id, n.group_labels(clean))
        for n in tree.match(clean)
    ]
