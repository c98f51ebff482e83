"""Memory settings for rxsight's long-running processes: the C allocators, Python's collector."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import os
import sys

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers
_M_ARENA_MAX = -8
# ClickHouse's error codes for an allocation that failed: MEMORY_LIMIT_EXCEEDED,
# CANNOT_ALLOCATE_MEMORY, CANNOT_SCHEDULE_TASK (no thread could be started: its stack is
# memory too), CANNOT_MREMAP, CANNOT_MUNMAP.
_ENGINE_OUT_OF_MEMORY = ("Code: 241.", "Code: 173.", "Code: 439.", "Code: 243.", "Code: 242.")


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


def few_arenas(arenas: int = 2) -> None:
    """At most `arenas` malloc arenas for the process's threads.

    glibc gives threads arenas of their own, up to eight per core, and reserves 64 MiB of
    address space for each: under a burst of ingest on the server's forty request threads
    that was a GiB of address space more, which a memory limit on the process (RLIMIT_AS, a
    container's) counts in full. Two arenas cost nothing measurable here: the threads that
    allocate most (decoding) run in worker processes of their own."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, arenas)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) is an allocation that failed: Python's
    MemoryError, ENOMEM from the system (mmap, a thread), or the store engine's own codes.
    Such a failure passes with the pressure: the work is retried or refused as retryable,
    never treated as bad data."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError):
            return True
        if isinstance(current, OSError) and current.errno == errno.ENOMEM:
            return True
        text = str(current)
        if isinstance(current, RuntimeError) and "can't start new thread" in text:
            return True  # its stack could not be mapped
        if any(code in text for code in _ENGINE_OUT_OF_MEMORY):
            return True
        current = current.__cause__ or current.__context__
    return False


def arrow_uses_system_allocator() -> None:
    """pyarrow's own allocator (mimalloc) reserves a GiB of address space at its first
    allocation: a memory limit on the process (RLIMIT_AS) counted two thirds of the headroom
    of a server capped at 1.5 GiB above its start as used by one ingest request. The system
    allocator (glibc, with return_large_buffers) reserves what it uses. Arrow reads the
    variable when it loads, so this runs before; decode workers inherit it; an
    ARROW_DEFAULT_MEMORY_POOL the operator set is kept."""
    if "pyarrow" not in sys.modules:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


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
