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
    """A line over `values`; None is no data and leaves a gap (the line breaks there, a
    value alone between gaps is a dot): a period without data is not a zero. `marks` flag
    points in red (hours with errors). The title and aria-label carry the numbers for screen
    readers."""
    n = len(values)
    if n == 0:
        return Markup("")
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    step = width / max(n - 1, 1)
    pad = 2

    def y(v: float) -> float:
        return height - pad - v / top * (height - 2 * pad)

    lines = []
    for run in _runs(values):
        points = " ".join(f"{i * step:.1f},{y(v):.1f}" for i, v in run)
        if len(run) == 1:
            i, v = run[0]
            lines.append(f'<circle cx="{i * step:.1f}" cy="{y(v):.1f}" r="1.5" class="spark-dot"/>')
        else:
            lines.append(
                '<polyline fill="none" stroke="currentColor" stroke-width="1.5" '
                f'points="{points}"/>'
            )
    dots = "".join(
        f'<circle cx="{i * step:.1f}" cy="{y(v):.1f}" r="1.8" class="spark-err"/>'
        for i, flagged in enumerate(marks)
        if flagged and i < n and (v := values[i]) is not None
    )
    return Markup(
        '<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{label}"><title>{label}</title>{lines}{dots}</svg>'
    ).format(w=width, h=height, label=label, lines=Markup("".join(lines)), dots=Markup(dots))


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The stretches of consecutive values that are not None, with their positions."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, v in enumerate(values):
        if v is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, float(v)))
    if current:
        runs.append(current)
    return runs
