"""A server's process tree as the benchmarks measure it: memory and CPU of the server and its
decode workers, through psutil."""

from __future__ import annotations

import threading
import time

import psutil


def tree(pid: int) -> list[psutil.Process]:
    """The server and its decode workers (every descendant); [] once the server is gone."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_memory_kib(pid: int) -> dict[str, int]:
    """RSS and its anonymous part (RSS less the file-backed and shared pages), summed over
    the tree, in KiB; a process that ends while being read counts 0."""
    rss = anon = 0
    for process in tree(pid):
        try:
            info = process.memory_info()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss
        anon += info.rss - info.shared
    return {"rss": rss // 1024, "anon": anon // 1024}


def tree_pss_kib(pid: int) -> int:
    """PSS summed over the tree: a page shared by n processes (the libraries the server and
    its workers all map) counts 1/n in each, so the sum counts it once."""
    total = 0
    for process in tree(pid):
        try:
            total += process.memory_full_info().pss
        except psutil.NoSuchProcess:
            continue
    return total // 1024


def tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by the server and its decode workers, every thread counted."""
    total = 0.0
    for process in tree(pid):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def wait_idle(pid: int, timeout_s: float = 120) -> float:
    """Waits until the server has used under 5 % of a core for half a second (background
    merges of the rows just written finished), so a phase does not pay for the one before."""
    started = time.monotonic()
    before = tree_cpu_s(pid)
    while time.monotonic() - started < timeout_s:
        time.sleep(0.5)
        now = tree_cpu_s(pid)
        if now - before < 0.025:
            break
        before = now
    return time.monotonic() - started


class PeakRss(threading.Thread):
    """Peak RSS and anonymous memory of the server and its workers, summed (every 50 ms), and
    peak PSS (every second: the kernel walks every page table for it, and at every 250 ms that
    walk took 2 % of the machine's CPU, from the server it measures)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.peak_pss, self.stop = pid, 0, 0, threading.Event()
        self.peak_anon = 0

    def run(self) -> None:
        tick = 0
        while not self.stop.is_set():
            memory = tree_memory_kib(self.pid)
            self.peak = max(self.peak, memory["rss"])
            self.peak_anon = max(self.peak_anon, memory["anon"])
            if tick % 20 == 0:
                self.peak_pss = max(self.peak_pss, tree_pss_kib(self.pid))
            tick += 1
            time.sleep(0.05)
