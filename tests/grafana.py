"""Grafana's expansion of a ClickHouse panel query, for tests (no Grafana runs here).

Two steps, in Grafana's order: the frontend interpolates template variables
(`${site:singlequote}`, `${site:csv}`, `${site}`, `$site`), then the grafana-clickhouse-datasource
backend expands its macros. The macros as its documentation and pkg/macros define them:

  $__fromTime / $__toTime          toDateTime(<unix seconds>)
  $__fromTime_ms / $__toTime_ms    fromUnixTimestamp64Milli(<unix ms>)
  $__timeFilter(col)               col >= toDateTime(from) AND col <= toDateTime(to)
  $__timeFilter_ms(col)            the same with fromUnixTimestamp64Milli
  $__dateFilter(col)               col >= toDate('YYYY-MM-DD') AND col <= toDate('YYYY-MM-DD')
  $__dateTimeFilter(d, t), $__dt   (date filter on d) AND (time filter on t)
  $__timeInterval(col)             toStartOfInterval(toDateTime(col), INTERVAL <s> second)
  $__timeInterval_ms(col)          the same on toDateTime64(col, 3), INTERVAL <ms> millisecond
  $__interval_s                    the panel interval in seconds (at least 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

ALL = None  # a variable with "All" selected

_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)\b")
_MACRO = re.compile(r"\$__(\w+)")


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    interval_s: int = 3600


def interpolate(sql: str, selected: dict[str, list[str] | None], all_values: dict[str, str]) -> str:
    """Template variables as Grafana's frontend puts them into a query. `selected` maps each
    variable to its values (ALL for "All": the variable's allValue, unformatted)."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        if name.startswith("__"):
            return m.group(0)  # a macro or a built-in, not a template variable
        if name not in selected:
            raise KeyError(f"query uses ${name}, which the dashboard does not define")
        values = selected[name]
        if values is ALL:
            return all_values[name]
        fmt = m.group(2)
        if fmt == "singlequote":
            return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
        if fmt == "csv":
            return ",".join(values)
        if fmt in (None, "raw") and len(values) == 1:
            return values[0]
        raise ValueError(f"${{{name}:{fmt}}} with {len(values)} values: no such formatting here")

    return _VARIABLE.sub(value, sql)


def expand_macros(sql: str, window: TimeRange) -> str:
    """The ClickHouse plugin's macros, expanded as its backend does."""
    start, end = int(window.start.timestamp()), int(window.end.timestamp())
    start_ms, end_ms = int(window.start.timestamp() * 1000), int(window.end.timestamp() * 1000)
    seconds = max(window.interval_s, 1)
    date = "toDate('{}')".format

    def dt_filter(col: str) -> str:
        return f"{col} >= toDateTime({start}) AND {col} <= toDateTime({end})"

    with_args = {
        "timeFilter": lambda c: dt_filter(c),
        "timeFilter_ms": lambda c: (
            f"{c} >= fromUnixTimestamp64Milli({start_ms}) AND "
            f"{c} <= fromUnixTimestamp64Milli({end_ms})"
        ),
        "dateFilter": lambda c: (
            f"{c} >= {date(window.start.date().isoformat())} AND "
            f"{c} <= {date(window.end.date().isoformat())}"
        ),
        "dateTimeFilter": lambda d, t: (
            f"({d} >= {date(window.start.date().isoformat())} AND "
            f"{d} <= {date(window.end.date().isoformat())}) AND ({dt_filter(t)})"
        ),
        "timeInterval": lambda c: f"toStartOfInterval(toDateTime({c}), INTERVAL {seconds} second)",
        "timeInterval_ms": lambda c: (
            f"toStartOfInterval(toDateTime64({c}, 3), INTERVAL {seconds * 1000} millisecond)"
        ),
    }
    with_args["dt"] = with_args["dateTimeFilter"]
    bare = {
        "fromTime": f"toDateTime({start})",
        "toTime": f"toDateTime({end})",
        "fromTime_ms": f"fromUnixTimestamp64Milli({start_ms})",
        "toTime_ms": f"fromUnixTimestamp64Milli({end_ms})",
        "interval_s": str(seconds),
    }
    out, pos = [], 0
    for m in _MACRO.finditer(sql):
        if m.start() < pos:
            continue
        name = m.group(1)
        out.append(sql[pos : m.start()])
        if name in with_args and sql[m.end() : m.end() + 1] == "(":
            args, close = _arguments(sql, m.end())
            out.append(with_args[name](*(expand_macros(a, window) for a in args)))
            pos = close + 1
        elif name in bare:
            out.append(bare[name])
            pos = m.end()
        else:
            raise ValueError(f"unknown macro $__{name}")
    out.append(sql[pos:])
    return "".join(out)


def _arguments(sql: str, open_at: int) -> tuple[list[str], int]:
    """The comma-separated arguments of the call whose `(` is at open_at; and its `)`."""
    depth, args, current = 0, [], []
    for i in range(open_at, len(sql)):
        ch = sql[i]
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(current).strip())
                return args, i
        elif ch == "," and depth == 1:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    raise ValueError("unbalanced parentheses in a macro call")


def panel_query(
    sql: str, selected: dict[str, list[str] | None], all_values: dict[str, str], window: TimeRange
) -> str:
    """A ClickHouse panel's query as the plugin sends it to ClickHouse."""
    return expand_macros(interpolate(sql, selected, all_values), window)
