"""Durable spool: accepted data is fsync'd here (group commit) before it is acknowledged."""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_HEADER = struct.Struct("<IIB")  # payload length, crc32 of name+payload, table-name length
_OPEN, _SEALED = ".open", ".seg"


class SpoolFull(Exception):
    """The spool holds max_bytes; the caller should answer 429 / RESOURCE_EXHAUSTED."""


class LargerThanSpool(Exception):
    """One record larger than the whole spool: waiting cannot help, the caller answers 413."""


@dataclass(frozen=True)
class Segment:
    path: Path
    size: int

    @property
    def name(self) -> str:
        return self.path.stem


class _Active:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = open(path, "ab", buffering=1 << 20)  # noqa: SIM115 - closed at seal
        self.created = time.monotonic()
        self.rows = 0
        self.size = 0


class Spool:
    """Segment files under one directory. Appenders write to the open segment; a sealed
    segment is immutable and is written to the store as one batch, so a replay after a
    crash presents the store with byte-identical batches (content-derived dedup tokens).
    The append that brings the open segment to `segment_rows` seals it."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        segment_rows: int | None = None,
        fsync: bool = True,
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_rows = segment_rows
        self._fsync = fsync
        self._lock = threading.Lock()
        self._cv = threading.Condition()
        self._written = 0
        self._durable = 0
        self._syncing = False
        self._sealed_bytes = 0
        self._next_id = 0
        self._active: _Active | None = None
        self._recover()

    # ------------------------------------------------------------------ recovery
    def _recover(self) -> None:
        """Seal what a crash left open, cutting a torn tail (it was never acknowledged)."""
        ids = []
        for path in self.dir.iterdir():
            if path.suffix not in (_OPEN, _SEALED):
                continue
            ids.append(int(path.stem))
            if path.suffix == _OPEN:
                # Where the last whole record ends.
                good = max((end for end, _, _ in _scan(path.read_bytes())), default=0)
                if good == 0:
                    path.unlink()
                    continue
                with open(path, "r+b") as fh:
                    fh.truncate(good)
                    fh.flush()
                    os.fsync(fh.fileno())
                path.rename(path.with_suffix(_SEALED))
        self._next_id = max(ids, default=0) + 1
        self._sealed_bytes = sum(s.size for s in self.sealed())

    # ------------------------------------------------------------------ writing
    def append(self, table: str, payload: bytes, rows: int) -> None:
        """Write one record and return once it is on disk. Raises SpoolFull."""
        name = table.encode()
        body = name + payload
        record = _HEADER.pack(len(payload), zlib.crc32(body), len(name)) + body
        if len(record) > self.max_bytes:
            raise LargerThanSpool(
                f"request: {len(record)} bytes as stored, more than the whole spool "
                f"({self.max_bytes} bytes, ingest.spool.max_bytes)"
            )
        with self._lock:
            active_size = self._active.size if self._active else 0
            if self._sealed_bytes + active_size + len(record) > self.max_bytes:
                raise SpoolFull(f"spool holds {self._sealed_bytes + active_size} bytes")
            if self._active is None:
                self._active = _Active(self.dir / f"{self._next_id:016d}{_OPEN}")
                self._next_id += 1
            self._active.file.write(record)
            self._active.rows += rows
            self._active.size += len(record)
            self._written += 1
            mine = self._written
            # Sealed here, not when the writer next looks: a writer busy with a big insert
            # would otherwise find a segment several times this size, whose insert takes
            # longer still and holds more memory.
            if self.segment_rows is not None and self._active.rows >= self.segment_rows:
                self._seal_locked()
        self._wait_durable(mine)

    def _wait_durable(self, seq: int) -> None:
        # Group commit: one waiter becomes the leader and fsyncs for everyone written so far.
        with self._cv:
            while self._durable < seq:
                if not self._syncing:
                    self._syncing = True
                    break
                self._cv.wait()
            else:
                return
        try:
            with self._lock:
                target = self._written
                fd = -1
                if self._active is not None:
                    self._active.file.flush()
                    fd = os.dup(self._active.file.fileno())
            if fd >= 0:
                try:
                    if self._fsync:
                        os.fsync(fd)
                finally:
                    os.close(fd)
        finally:
            with self._cv:
                self._durable = max(self._durable, target)
                self._syncing = False
                self._cv.notify_all()

    def seal_if_due(self, max_age_s: float) -> bool:
        with self._lock:
            active = self._active
            if active is None or active.size == 0:
                return False
            if time.monotonic() - active.created < max_age_s:
                return False
            self._seal_locked()
            return True

    def seal(self) -> None:
        with self._lock:
            if self._active is not None and self._active.size:
                self._seal_locked()

    def _seal_locked(self) -> None:
        active = self._active
        assert active is not None
        active.file.flush()
        if self._fsync:
            os.fsync(active.file.fileno())
        active.file.close()
        active.path.rename(active.path.with_suffix(_SEALED))
        self._sealed_bytes += active.size
        self._active = None
        with self._cv:
            # Everything written so far is in a sealed, fsync'd file now.
            self._durable = max(self._durable, self._written)
            self._cv.notify_all()

    # ------------------------------------------------------------------ reading
    def sealed(self) -> list[Segment]:
        return sorted(
            (Segment(p, p.stat().st_size) for p in self.dir.glob(f"*{_SEALED}")),
            key=lambda s: s.name,
        )

    def records(self, segment: Segment) -> Iterator[tuple[str, memoryview]]:
        """(table, payload) of each record; the payloads are views of the file, mapped.

        A sealed segment is never written again, so its pages in the page cache are read where
        they are: reading it into memory cost a copy of tens of MiB and a fault for every
        page of it (20 against 7 ms of CPU for a 20 MiB segment). The mapping goes when the
        last view of it does."""
        with open(segment.path, "rb") as file:
            if os.fstat(file.fileno()).st_size == 0:
                return
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        for _, table, payload in _scan(mapped):
            yield table, payload

    def remove(self, segment: Segment) -> None:
        segment.path.unlink(missing_ok=True)
        with self._lock:
            self._sealed_bytes = max(0, self._sealed_bytes - segment.size)

    def quarantine(self, segment: Segment) -> Path:
        """Set aside a segment the store keeps refusing, so it cannot block the rest."""
        target = self.dir / "quarantine" / segment.path.name
        target.parent.mkdir(exist_ok=True)
        segment.path.rename(target)
        with self._lock:
            self._sealed_bytes = max(0, self._sealed_bytes - segment.size)
        return target

    @property
    def depth_bytes(self) -> int:
        with self._lock:
            return self._sealed_bytes + (self._active.size if self._active else 0)

    def close(self) -> None:
        self.seal()


def _scan(data: bytes | mmap.mmap) -> Iterator[tuple[int, str, memoryview]]:
    """(offset where it ends, table, payload) of each valid record from the start; stops at the
    first torn or corrupt one. Payloads are views of `data`, not copies: the writer's Arrow
    streams point into the segment's mapping."""
    view = memoryview(data)
    pos, n = 0, len(data)
    while pos + _HEADER.size <= n:
        length, crc, name_len = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        end = start + name_len + length
        if end > n:
            return
        if zlib.crc32(view[start:end]) != crc:
            return
        yield end, str(view[start : start + name_len], "utf-8"), view[start + name_len : end]
        pos = end
