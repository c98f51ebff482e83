"""This VM's speed right now, and whatever else ran on it during a benchmark.

The same benchmark moves by a third or more within minutes on this machine, with nothing else
running: a figure is only comparable with another taken at a similar loop time. And a figure
taken beside another busy process says little: report("after") names every process outside
the benchmark's own tree that used the CPU between report("before") and it. (Twice a
forgotten `rxsight serve`, left by an earlier script with its rules ticking, ran through a
stop's ingest runs unnoticed.)"""

from __future__ import annotations

import os
import time

import psutil

# Below this much CPU during a run, another process is noise, not a competitor.
_OTHER_CPU_S = 0.5
_cpu_before: dict[tuple[int, float], float] = {}


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
    """Prints the machine's speed; "before" starts watching other processes, and any other
    label prints those that used the CPU since."""
    print(f"  (machine speed {label}: a fixed Python loop took {loop_seconds():.2f} s CPU)")
    if label == "before":
        _cpu_before.clear()
        _cpu_before.update({key: cpu for key, (cpu, _, _) in _processes().items()})
        return
    now = _processes()
    parents = {pid: parent for (pid, _), (_, parent, _) in now.items()}
    busy = [
        (cpu - _cpu_before.get(key, 0.0), key[0], command)
        for key, (cpu, _, command) in now.items()
        if command and not _descends(key[0], os.getpid(), parents)  # no command: a kernel thread
    ]
    for used, pid, command in sorted(busy, reverse=True):
        if used >= _OTHER_CPU_S:
            print(f"  WARNING: pid {pid} ({command[:80]}) used {used:.1f} s of CPU during the run")


def _processes() -> dict[tuple[int, float], tuple[float, int, str]]:
    """(pid, start time) -> (CPU seconds used, parent pid, command line) of every process."""
    found = {}
    for process in psutil.process_iter(["pid", "create_time", "cpu_times", "ppid", "cmdline"]):
        info = process.info
        if info["cpu_times"] is None or info["create_time"] is None:
            continue  # it ended while being read, or it is not ours to read
        found[(info["pid"], info["create_time"])] = (
            info["cpu_times"].user + info["cpu_times"].system,
            info["ppid"] or 0,
            " ".join(info["cmdline"] or []),
        )
    return found


def _descends(pid: int, ancestor: int, parents: dict[int, int]) -> bool:
    """Whether `pid` is `ancestor` or one of its descendants (here: servers and workers)."""
    for _ in range(64):
        if pid == ancestor:
            return True
        pid = parents.get(pid, 0)
        if pid <= 1:
            return False
    return False
