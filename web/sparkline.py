"""Server-rendered SVG sparklines: 24 hourly values as a polyline, no chart library."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 120,
    height: int = 28,
    label: str = "",
    marks: Sequence[bool] = (),
) -> Markup:
    """A line over `values` (None = no data, drawn at zero); `marks` flag points in red
    (hours with errors). The title and aria-label carry the numbers for screen readers."""
    n = len(values)
    if n == 0:
        return Markup("")
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    step = width / max(n - 1, 1)
    pad = 2

    def y(v: float | None) -> float:
        return height - pad - (v or 0.0) / top * (height - 2 * pad)

    points = " ".join(f"{i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    dots = "".join(
        f'<circle cx="{i * step:.1f}" cy="{y(values[i]):.1f}" r="1.8" class="spark-err"/>'
        for i, flagged in enumerate(marks)
        if flagged and i < n
    )
    return Markup(
        '<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{label}"><title>{label}</title>'
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{points}"/>'
        "{dots}</svg>"
    ).format(w=width, h=height, label=label, points=points, dots=Markup(dots))
