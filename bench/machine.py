"""This VM's speed right now: a fixed pure-Python loop, timed in CPU seconds.

The same benchmark moves by a third or more within minutes on this machine, with nothing else
running; a figure is only comparable with the loop's time beside it (about 0.85 s on a fast
stretch here, 1.3 s on a slow one)."""

from __future__ import annotations

import time


def loop_seconds(repeat: int = 3) -> float:
    """The best of `repeat` runs of ten million additions."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.process_time() - started)
    return best


def report(label: str) -> None:
    print(f"  (machine speed {label}: a fixed Python loop took {loop_seconds():.2f} s CPU)")
