"""Memory settings for rxsight's long-running processes: the C allocators, Python's collector."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def return_large_buffers(threshold: int = 1 << 20) -> None:
    """Allocate buffers of `threshold` bytes and more outside the heap, so each goes back to
    the system when it is freed.

    glibc does so from 128 KiB, but raises that bar to the size of every such buffer freed:
    after the writer frees one read of a spool segment (tens of MiB), the next ones come from
    the heap, which keeps the pages: 80 to 170 MiB more, held once a sustained load had
    ended. A fixed threshold stops the bar moving. Elsewhere than glibc, nothing changes."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        # The process's own symbols, libc's among them (find_library would run ldconfig).
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, threshold)


def embedded_engine_returns_freed_pages(decay_ms: int = 1000) -> None:
    """chDB's own allocator (a jemalloc of its own, configured by JE_MALLOC_CONF) keeps the
    pages a query or merge freed for 5 s, in case it needs them again. Under sustained ingest
    that is the next insert's memory held twice over: after 1 s, the server held 150 MiB less
    once a load ended and peaked 65 MiB lower, at the same CPU per event. jemalloc reads the
    variable once, when chDB is loaded, so this runs before; a JE_MALLOC_CONF the operator
    set is kept."""
    if "chdb" not in sys.modules:
        os.environ.setdefault("JE_MALLOC_CONF", f"dirty_decay_ms:{decay_ms}")


def collect_less_often(threshold: int = 50_000) -> None:
    """Leave what exists now (modules, schemas, the app) out of Python's collections, and
    collect young objects every `threshold` allocations instead of every 700.

    A request makes thousands of short-lived objects, which reference counting frees when it
    is done. With the defaults they set off a collection every few dozen events, and every
    few requests a full one, which walked serve's whole heap in 60 ms. Call this once the
    process has built what it keeps."""
    gc.freeze()
    gc.set_threshold(threshold, 10, 10)
