"""The routing configuration on its own: matchers, the routing tree, durations, and the
README's example configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


def test_matchers_routing_tree_and_durations() -> None:
    from alerts.config import AlertsConfig
    from alerts.duration import parse_duration
    from alerts.grouping import LogEntry, needs_update
    from alerts.matchers import MatcherError, from_json, parse_matcher
    from alerts.route import compile_tree

    assert parse_duration("1h30m") == 5400 and parse_duration("200ms") == 0.2
    assert parse_duration("0") == 0.0
    for wrong in ("5 minutes", "30", "1.5h", "30m1h", 0):
        with pytest.raises(ValueError):
            parse_duration(wrong)
    m = parse_matcher('site=~"mercy-.*"')
    assert m.matches({"site": "mercy-east"}) and not m.matches({"site": "x-mercy-east"})
    assert parse_matcher("site!~mercy-.*").matches({"site": "riverside"})
    assert parse_matcher("flow!=").matches({"flow": "erp"})
    assert from_json({"name": "a", "value": "b", "isEqual": False}).op == "!="
    with pytest.raises(MatcherError):
        parse_matcher("site=~(")
    tree = compile_tree(
        AlertsConfig.model_validate(
            {
                "receivers": [
                    {"name": n, "secret": "s", "webhooks": [{"url": "http://x/"}]}
                    for n in ("root", "a", "b", "c")
                ],
                "route": {
                    "receiver": "root",
                    "group_by": ["site"],
                    "routes": [
                        {"match": {"family": "x"}, "receiver": "a", "continue": True},
                        {
                            "matchers": ["site=~s1|s2"],
                            "receiver": "b",
                            "group_by": ["..."],
                            "routes": [{"matchers": ["severity=critical"], "receiver": "c"}],
                        },
                    ],
                },
            }
        )
    )
    assert tree is not None

    def receivers(**labels: str) -> list[str]:
        return [n.opts.receiver for n in tree.match(labels)]

    assert receivers(family="x", site="s1") == ["a", "b"]
    assert receivers(family="x", site="s3") == ["a"]
    assert receivers(family="y", site="s2", severity="critical") == ["c"]
    assert receivers(family="y", site="s9") == ["root"]
    node = tree.match({"site": "s1"})[0]
    assert node.group_labels({"site": "s1", "reason": "r"}) == {"site": "s1", "reason": "r"}
    # Alertmanager's dedup rules.
    now = datetime.now(UTC)
    entry = LogEntry(frozenset({"a"}), frozenset(), now)
    assert needs_update(None, {"a"}, set(), 60, now)
    assert not needs_update(None, set(), {"a"}, 60, now)
    assert not needs_update(entry, {"a"}, set(), 60, now)
    assert needs_update(entry, {"a", "b"}, set(), 60, now)
    assert needs_update(entry, set(), {"a"}, 60, now)
    assert needs_update(entry, {"a"}, set(), 60, now + timedelta(seconds=61))
    assert not needs_update(LogEntry(frozenset(), frozenset({"a"}), now), set(), {"a"}, 60, now)


def test_readme_example_config_is_valid() -> None:
    import re

    import yaml

    from alerts.config import validate
    from tests.support import REPO

    text = (REPO / "alerts" / "README.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block
    cfg = validate(yaml.safe_load(block.group(1))["alerts"], "README.md")
    assert cfg.route is not None and len(cfg.route.routes) == 3
