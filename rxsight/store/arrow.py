"""Arrow IPC streams: how rows travel from the decode workers, through the spool, to the store."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa

# An IPC stream ends with a continuation marker and a zero-length message.
_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"


def ipc_bytes(table: pa.Table) -> bytes:
    """`table` as one Arrow IPC stream."""
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def streams_table(streams: Sequence[bytes | memoryview]) -> pa.Table:
    """Arrow IPC streams of one schema as one table, whose columns point into their bytes."""
    return pa.concat_tables(pa.ipc.open_stream(stream).read_all() for stream in streams)


class JoinedStreams(io.RawIOBase):
    """Arrow IPC streams of one schema read as a single stream: the first one's schema, then
    every stream's record batches, then the end. The streams' bytes are not copied: read()
    returns views of them.

    The writer receives a segment's rows as the IPC streams the decode workers wrote, which are
    already what the store's ArrowStream input reads. Decoding them into a table only to encode
    it again cost two copies of every row (tens of MiB per insert, in freshly faulted pages)."""

    def __init__(self, streams: Sequence[bytes | memoryview]) -> None:
        super().__init__()
        if not streams:
            raise ValueError("no Arrow IPC stream to join")
        self.schema: pa.Schema | None = None
        self.num_rows = 0
        self._parts: list[memoryview] = []
        for stream in streams:
            self._add(memoryview(stream))
        self._parts.append(memoryview(_END_OF_STREAM))
        self._part = 0
        self._offset = 0

    def _add(self, stream: memoryview) -> None:
        reader = pa.BufferReader(pa.py_buffer(stream))
        try:
            schema = pa.ipc.read_schema(pa.ipc.read_message(reader))
        except (EOFError, StopIteration, pa.ArrowInvalid) as exc:
            raise ValueError(f"not an Arrow IPC stream: {exc}") from None
        if self.schema is None:
            self.schema = schema
            start = 0  # the first stream's schema message is the joined stream's
        elif schema.equals(self.schema):
            start = reader.tell()
        else:
            raise ValueError(f"Arrow IPC streams of different schemas: {schema} and {self.schema}")
        while True:
            end = reader.tell()
            try:
                message = pa.ipc.read_message(reader)
            except (EOFError, StopIteration):
                break  # the stream's end-of-stream marker, or its end
            if message.type != "record batch":
                # Dictionary batches are numbered per stream; joined, they would collide.
                raise ValueError(f"Arrow IPC stream holds a {message.type} message")
            self.num_rows += pa.ipc.read_record_batch(message, schema).num_rows
        self._parts.append(stream[start:end])

    @property
    def column_names(self) -> list[str]:
        assert self.schema is not None
        return self.schema.names

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> memoryview | bytes:  # type: ignore[override]
        """The next bytes of the joined stream: at most `size` of them, as a view of one
        stream; all that is left, as a copy, when `size` is negative; b"" at the end."""
        if self._part >= len(self._parts):
            return b""
        if size is None or size < 0:
            rest = [self._parts[self._part][self._offset :], *self._parts[self._part + 1 :]]
            self._part, self._offset = len(self._parts), 0
            return b"".join(rest)
        while self._part < len(self._parts):
            part = self._parts[self._part]
            if self._offset < len(part):
                chunk = part[self._offset : self._offset + size]
                self._offset += len(chunk)
                return chunk
            self._part += 1
            self._offset = 0
        return b""
