"""A trace as a waterfall: spans in tree order with their depth, offset and width on the
trace's time axis, attributes and events (each event placed on the same axis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rxsight.timeutil import as_utc


@dataclass
class WaterfallSpan:
    span_id: str
    name: str
    service: str
    depth: int
    start: datetime
    duration_ms: float
    offset_pct: float
    width_pct: float
    error: bool
    status_message: str
    attributes: dict[str, str]
    resource: dict[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)
    correlation_id: str = ""


def waterfall(rows: list[dict[str, Any]]) -> tuple[list[WaterfallSpan], float]:
    """Spans depth-first from the roots (a span whose parent is not in the trace is a root),
    siblings by start; and the trace's length in ms."""
    if not rows:
        return [], 0.0
    starts = {r["span_id"]: as_utc(r["start"]) for r in rows}
    t0 = min(starts.values())
    ends = [starts[r["span_id"]].timestamp() * 1000 + r["duration_ns"] / 1e6 for r in rows]
    total_ms = max(max(ends) - t0.timestamp() * 1000, 0.001)
    children: dict[str, list[dict[str, Any]]] = {}
    ids = set(starts)
    for r in sorted(rows, key=lambda r: (starts[r["span_id"]], r["span_id"])):
        parent = r["parent_span_id"] if r["parent_span_id"] in ids else ""
        children.setdefault(parent, []).append(r)
    out: list[WaterfallSpan] = []

    def at_pct(dt: datetime) -> float:
        return round((dt - t0).total_seconds() * 1000 / total_ms * 100, 3)

    def walk(parent: str, depth: int) -> None:
        for r in children.get(parent, []):
            start = starts[r["span_id"]]
            duration_ms = r["duration_ns"] / 1e6
            events = [
                {"at": as_utc(t), "name": n, "attributes": dict(a), "offset_pct": at_pct(as_utc(t))}
                for t, n, a in zip(
                    r["event_times"], r["event_names"], r["event_attributes"], strict=False
                )
            ]
            out.append(
                WaterfallSpan(
                    span_id=r["span_id"],
                    name=r["name"],
                    service=r["service"],
                    depth=depth,
                    start=start,
                    duration_ms=duration_ms,
                    offset_pct=at_pct(start),
                    width_pct=max(round(duration_ms / total_ms * 100, 3), 0.2),
                    error=r["status_code"] in ("Error", "STATUS_CODE_ERROR"),
                    status_message=r["status_message"],
                    attributes=dict(sorted(r["attributes"].items())),
                    resource=dict(sorted(r["resource"].items())),
                    events=events,
                    correlation_id=r.get("correlation_id") or "",
                )
            )
            if r["span_id"] != parent:
                walk(r["span_id"], depth + 1)

    walk("", 0)
    return out, total_ms
