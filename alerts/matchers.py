"""Label matchers exactly as Alertmanager 0.25 parses, prints and applies them (RE2, anchored).

Grammar: prometheus/alertmanager pkg/labels/parse.go (the classic parser) and matcher.go;
the behaviour is checked against Debian's amtool 0.25 (tests/unit/alerts/am025/)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import re2

# A Prometheus label name, an operator ('=~' before '=' so '=~' is not read as '=' plus '~'),
# then the rest. Go's \s is ASCII whitespace and its `$` is the end of the text.
_WS = r"[\t\n\f\r ]*"
_MATCHER = re.compile(
    rf"{_WS}([a-zA-Z_:][a-zA-Z0-9_:]*){_WS}(=~|=|!=|!~){_WS}(.*?){_WS}\Z", re.DOTALL
)
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
OPERATORS = ("=", "!=", "=~", "!~")


class MatcherError(ValueError):
    """A matcher that cannot be parsed (the message says why, in Alertmanager's words)."""


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the error goes to the caller, not to stderr
    return options


def compile_anchored(pattern: str) -> Any:
    """An RE2 program matching the whole value, as Alertmanager compiles `^(?:pattern)$`."""
    try:
        return re2.compile(f"^(?:{pattern})$", options=_re2_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if isinstance(exc.args[0], bytes) else str(exc.args[0])
        raise MatcherError(
            f"invalid regular expression {pattern!r}: error parsing regexp: {reason}"
        ) from None


def openmetrics_escape(value: str) -> str:
    """Backslash, newline and double quote escaped, as Alertmanager prints matcher values."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str
    _regex: Any = field(default=None, compare=False, repr=False, hash=False)

    @classmethod
    def make(cls, name: str, op: str, value: str) -> Matcher:
        if op not in OPERATORS:
            raise MatcherError(f"unknown operator {op!r}")
        regex = compile_anchored(value) if op in ("=~", "!~") else None
        return cls(name, op, value, regex)

    @property
    def is_regex(self) -> bool:
        return self.op in ("=~", "!~")

    def matches(self, labels: Mapping[str, str]) -> bool:
        # A missing label matches as the empty string, as in Alertmanager.
        got = labels.get(self.name, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        hit = self._regex.search(got) is not None
        return hit if self.op == "=~" else not hit

    def sort_key(self) -> tuple[str, str, int]:
        # Alertmanager's Matchers.Less: name, then value, then match type (=, !=, =~, !~).
        return (self.name, self.value, OPERATORS.index(self.op))

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.op in ("=", "=~"),
        }

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{openmetrics_escape(self.value)}"'


def matchers_string(matchers: Iterable[Matcher]) -> str:
    """Alertmanager's Matchers.String(): `{a="x",b=~"y"}`, in the order given."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


def sorted_matchers(matchers: Iterable[Matcher]) -> tuple[Matcher, ...]:
    return tuple(sorted(matchers, key=Matcher.sort_key))


def _unescape(raw: str, shown: str) -> str:
    """The value token with OpenMetrics escapes resolved; quotes only at its ends."""
    expect_closing = raw.startswith('"')
    if expect_closing:
        raw = raw[1:]
    out: list[str] = []
    escaped = False
    last = len(raw) - 1
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            # \n, \" and \\ are escapes; any other backslash stays a literal backslash.
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(ch, "\\" + ch))
        elif ch == "\\":
            if i < last:
                escaped = True
            else:
                out.append("\\")
        elif ch == '"':
            if not expect_closing or i < last:
                raise MatcherError(f"matcher value contains unescaped double quote: {shown}")
            expect_closing = False
        else:
            out.append(ch)
    if expect_closing:
        raise MatcherError(f"matcher value contains unescaped double quote: {shown}")
    return "".join(out)


def parse_matcher(text: str) -> Matcher:
    """One `name op value` matcher; the value may be double-quoted (ParseMatcher)."""
    m = _MATCHER.fullmatch(text)
    if not m:
        raise MatcherError(f"bad matcher format: {text}")
    name, op, raw = m.groups()
    return Matcher.make(name, op, _unescape(raw, raw))


def _split(text: str) -> list[str]:
    """Commas outside double quotes separate matchers (ParseMatchers)."""
    tokens: list[str] = []
    token: list[str] = []
    inside = escaped = False
    for ch in text:
        if ch == "," and not inside:
            tokens.append("".join(token))
            token = []
            continue
        if ch == '"':
            if not escaped:
                inside = not inside
            else:
                escaped = False
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(ch)
    rest = "".join(token).strip(" \t\n\r\f\v")
    if rest:
        tokens.append(rest)
    return tokens


def parse_matcher_list(text: str) -> list[Matcher]:
    """`{a="x", b!~"y"}` or `a=x,b!~y`: every matcher of one string (ParseMatchers)."""
    text = text.removeprefix("{").removesuffix("}")
    return [parse_matcher(token) for token in _split(text)]


def from_json(item: Mapping[str, Any]) -> Matcher:
    """The API form {"name", "value", "isRegex", "isEqual"} (isEqual defaults to true)."""
    try:
        name, value = str(item["name"]), str(item["value"])
    except KeyError as exc:
        raise MatcherError(f"a matcher needs {exc.args[0]!r}") from None
    if not _LABEL_NAME.match(name):
        raise MatcherError(f"{name!r} is not a label name")
    regex, equal = bool(item.get("isRegex", False)), bool(item.get("isEqual", True))
    op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
    return Matcher.make(name, op[(regex, equal)], value)


def parse_matchers(items: Iterable[str | Mapping[str, Any]]) -> tuple[Matcher, ...]:
    """A `matchers:` list: each string may hold several matchers, as in Alertmanager; API
    objects are one matcher each."""
    out: list[Matcher] = []
    for item in items:
        if isinstance(item, Mapping):
            out.append(from_json(item))
        else:
            out += parse_matcher_list(str(item))
    return tuple(out)


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
