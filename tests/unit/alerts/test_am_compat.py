"""rxsight's routing, matcher parsing, group keys and fingerprints against Alertmanager 0.25.

The fixtures in am025/ were recorded by am025/record.py from Debian's prometheus-alertmanager
0.25.0 (amtool and a running Alertmanager on loopback); each names its source. When amtool is
installed (make test installs it), the routing and parse results are also re-checked live."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.config import AlertsConfig
from alerts.labelset import fingerprint
from alerts.matchers import MatcherError, matchers_string, parse_matcher_list, sorted_matchers
from alerts.route import compile_tree, routes_test
from tests.unit.alerts.am025 import record

AM = Path(__file__).resolve().parent / "am025"
AMTOOL = shutil.which("amtool")


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((AM / name).read_text())


def _tree():
    """Alertmanager's `route:` pasted into rxsight as it is; receivers become webhooks."""
    doc = yaml.safe_load((AM / "alertmanager.yml").read_text())
    receivers = [
        {"name": r["name"], "secret": "s", "webhooks": [{"url": "http://127.0.0.1:9/hook"}]}
        for r in doc["receivers"]
    ]
    return compile_tree(
        AlertsConfig.model_validate({"route": doc["route"], "receivers": receivers})
    )


def test_every_label_set_reaches_the_receivers_alertmanager_gives() -> None:
    tree = _tree()
    cases = _fixture("routes.json")["cases"]
    assert len(cases) >= 100
    differ = [
        (c["labels"], c["receivers"], got)
        for c in cases
        if (got := [m.receiver for m in routes_test(tree, c["labels"])]) != c["receivers"]
    ]
    print(f"\nrouting: {len(cases) - len(differ)}/{len(cases)} label sets equal to amtool 0.25")
    assert not differ


@pytest.mark.skipif(AMTOOL is None, reason="amtool (prometheus-alertmanager) not installed")
def test_fixtures_still_match_a_live_amtool() -> None:
    cases = _fixture("routes.json")["cases"]
    live = [record.amtool_routes(AM / "alertmanager.yml", c["labels"]) for c in cases]
    assert live == [c["receivers"] for c in cases]
    assert record.version().startswith("amtool, version 0.25")


def _rxsight_parse(text: str) -> dict[str, Any]:
    try:
        return {"route_key_part": matchers_string(sorted_matchers(parse_matcher_list(text)))}
    except MatcherError as exc:
        return {"error": str(exc)}


def test_matcher_parse_results_equal_alertmanager_on_its_own_inputs() -> None:
    """Every input of Alertmanager's pkg/labels/parse_test.go (and the issue's), as amtool
    0.25 printed the route built from it, or refused it."""
    cases = _fixture("parse.json")["cases"]
    differ = []
    for case in cases:
        got = _rxsight_parse(case["input"])
        if "error" in case:
            ok = "error" in got
        else:
            ok = got == {"route_key_part": case["route_key_part"]}
        if not ok:
            differ.append((case, got))
    print(f"\nmatcher parsing: {len(cases) - len(differ)}/{len(cases)} inputs equal to amtool 0.25")
    assert not differ


@pytest.mark.skipif(AMTOOL is None, reason="amtool (prometheus-alertmanager) not installed")
def test_parse_fixture_still_matches_a_live_amtool() -> None:
    cases = _fixture("parse.json")["cases"]
    assert [record.amtool_parse(c["input"]) for c in cases] == cases


def test_group_keys_and_fingerprints_equal_a_running_alertmanager() -> None:
    """payloads.json: what Alertmanager 0.25's webhooks received for the same label sets."""
    tree = _tree()
    payloads = _fixture("payloads.json")["payloads"]
    seen: dict[str, set[tuple[str, str]]] = {}
    fingerprints = 0
    for p in payloads:
        for alert in p["alerts"]:
            assert fingerprint(alert["labels"]) == alert["fingerprint"], alert
            fingerprints += 1
            seen.setdefault(alert["fingerprint"], set()).add((p["receiver"], p["groupKey"]))
    differ = []
    for labels in record.labelsets():
        clean = {k: v for k, v in labels.items() if v}
        ours = {(m.receiver, m.group_key) for m in routes_test(tree, clean)}
        if ours != seen.get(fingerprint(clean)):
            differ.append((clean, ours, seen.get(fingerprint(clean))))
    total = len(record.labelsets())
    print(
        f"\npayloads: {fingerprints} fingerprints equal; (receiver, groupKey) equal for "
        f"{total - len(differ)}/{total} label sets"
    )
    assert not differ


# prometheus/alertmanager pkg/labels/parse_test.go, TestMatchers: input -> (name, op, value).
PARSE_TABLE: list[tuple[str, list[tuple[str, str, str]] | None]] = [
    ('{foo="bar"}', [("foo", "=", "bar")]),
    ('{foo=~"bar.*"}', [("foo", "=~", "bar.*")]),
    ('{foo!="bar"}', [("foo", "!=", "bar")]),
    ('{foo!~"bar.*"}', [("foo", "!~", "bar.*")]),
    ('{foo="bar", baz!="quux"}', [("foo", "=", "bar"), ("baz", "!=", "quux")]),
    ('{foo="bar", baz!~"quux.*"}', [("foo", "=", "bar"), ("baz", "!~", "quux.*")]),
    (
        '{foo="bar",baz!~".*quux", derp="wat"}',
        [("foo", "=", "bar"), ("baz", "!~", ".*quux"), ("derp", "=", "wat")],
    ),
    (
        '{foo="bar", instance=~"some-api.*"}',
        [("foo", "=", "bar"), ("instance", "=~", "some-api.*")],
    ),
    ('{foo=""}', [("foo", "=", "")]),
    ('{foo="bar,quux", job="job1"}', [("foo", "=", "bar,quux"), ("job", "=", "job1")]),
    ('{foo = "bar", dings != "bums", }', [("foo", "=", "bar"), ("dings", "!=", "bums")]),
    ("foo=bar,dings!=bums", [("foo", "=", "bar"), ("dings", "!=", "bums")]),
    (
        '{quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""}',
        [("quote", "=", 'She said: "Hi, ladies! That\'s gender-neutral…"')],
    ),
    ('statuscode=~"5.."', [("statuscode", "=~", "5..")]),
    ("tricky=~~~", [("tricky", "=~", "~~")]),
    ('trickier==\\\\=\\=\\"', [("trickier", "=", '=\\=\\="')]),
    (
        'contains_quote != "\\"" , contains_comma !~ "foo,bar" , ',
        [("contains_quote", "!=", '"'), ("contains_comma", "!~", "foo,bar")],
    ),
    ('job="value', None),
    ('job=value"', None),
    ('trickier==\\\\=\\=\\""', None),
    ('contains_unescaped_quote = foo"bar', None),
    ('{invalid-name = "valid label"}', None),
    ('{foo=~"invalid[regexp"}', None),
    ('"{foo=\\"bar"}', None),
    ('"foo=\\"bar"', None),
    ('"foo=\\"bar\\""', None),
    ('"foo=\\"bar\\"', None),
    ('"{foo=\\"bar\\"}"', None),
    ('"foo="bar""', None),
]


@pytest.mark.parametrize(("text", "want"), PARSE_TABLE)
def test_alertmanager_parse_table(text: str, want: list[tuple[str, str, str]] | None) -> None:
    if want is None:
        with pytest.raises(MatcherError):
            parse_matcher_list(text)
    else:
        assert [(m.name, m.op, m.value) for m in parse_matcher_list(text)] == want


@pytest.mark.parametrize(
    ("pattern", "value", "hit"),
    [
        ("(?i)late.*", "LATE_receipt", True),
        (r"\d+", "12", True),
        (r"\d+", "\u0663", False),  # Go's \d is ASCII; Python's re would say yes
        (r"\w+", "\u00e9", False),
        ("[[:alpha:]]+", "abc", True),
        ("a|b", "ab", False),  # anchored: the whole value
        ("a", "a\n", False),
        (r"\pL+", "\u00e9t\u00e9", True),
    ],
)
def test_regular_expressions_are_re2_and_anchored(pattern: str, value: str, hit: bool) -> None:
    (m,) = parse_matcher_list(f'x=~"{pattern}"'.replace("\\", "\\\\"))
    assert m.value == pattern
    assert m.matches({"x": value}) is hit


@pytest.mark.parametrize("pattern", ["(?=x)", r"a\Z", r"(a)\1", "(?<=a)b", "a++"])
def test_what_re2_refuses_is_refused(pattern: str) -> None:
    with pytest.raises(MatcherError, match="invalid regular expression"):
        parse_matcher_list(f'x=~"{pattern}"'.replace("\\", "\\\\"))


# prometheus/common model/time_test.go (TestParseDuration, TestParseBadDuration), then the
# issue's cases: input -> seconds, or None when Alertmanager refuses it.
DURATIONS: list[tuple[str, float | None]] = [
    ("0", 0),
    ("0w", 0),
    ("0s", 0),
    ("324ms", 0.324),
    ("3s", 3),
    ("5m", 300),
    ("1h", 3600),
    ("4d", 4 * 86400),
    ("4d1h", 4 * 86400 + 3600),
    ("14d", 14 * 86400),
    ("3w", 3 * 7 * 86400),
    ("3w2d1h", 3 * 7 * 86400 + 2 * 86400 + 3600),
    ("10y", 10 * 365 * 86400),
    ("1", None),
    ("1y1m1d", None),
    ("-1w", None),
    ("1.5d", None),
    ("30", None),
    ("1.5h", None),
    ("30m1h", None),
    ("1y", 365 * 86400),
    ("", None),
    ("1h 30m", None),
]


@pytest.mark.parametrize(("text", "seconds"), DURATIONS)
def test_durations_parse_as_alertmanager_parses_them(text: str, seconds: float | None) -> None:
    from alerts.duration import format_duration, parse_duration

    if seconds is None:
        with pytest.raises(ValueError):
            parse_duration(text)
    else:
        assert parse_duration(text) == seconds
        assert parse_duration(format_duration(seconds)) == seconds
