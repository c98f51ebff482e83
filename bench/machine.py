"""This VM's speed right now: a fixed pure-Python loop, timed in CPU seconds.

The same benchmark moves by a third or more within minutes on this machine, with nothing else
running: a figure is only comparable with another taken at a similar loop time."""

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
