"""Arrow IPC streams joined into one, as the writer hands a segment's rows to the store."""

from __future__ import annotations

import pyarrow as pa
import pytest

from rxsight.store.arrow import JoinedStreams, ipc_bytes


def _table(first: int, n: int) -> pa.Table:
    return pa.table(
        {
            "n": pa.array(range(first, first + n), pa.int64()),
            "name": pa.array([f"row-{i}" for i in range(first, first + n)], pa.string()),
            "tags": pa.array([{"k": str(i)} for i in range(n)], pa.map_(pa.string(), pa.string())),
        }
    )


def _read_all(joined: JoinedStreams, chunk: int) -> bytes:
    out = bytearray()
    while piece := joined.read(chunk):
        assert len(piece) <= chunk
        out += piece
    return bytes(out)


@pytest.mark.parametrize("chunk", [7, 1 << 10, 1 << 20])
def test_joined_streams_read_as_one_stream_of_every_row_in_order(chunk: int) -> None:
    tables = [_table(0, 3), _table(3, 0), _table(3, 1000), _table(1003, 1)]
    joined = JoinedStreams([memoryview(ipc_bytes(t)) for t in tables])
    assert joined.num_rows == 1004
    assert joined.column_names == ["n", "name", "tags"]
    read = pa.ipc.open_stream(_read_all(joined, chunk)).read_all()
    assert read.equals(pa.concat_tables(tables))
    assert joined.read(chunk) == b""


def test_reading_all_at_once_gives_the_same_bytes_as_reading_in_pieces() -> None:
    streams = [ipc_bytes(_table(0, 10)), ipc_bytes(_table(10, 10))]
    assert JoinedStreams(streams).read() == _read_all(JoinedStreams(streams), 100)
    half_read = JoinedStreams(streams)
    head = bytes(half_read.read(50))
    assert head + half_read.read() == JoinedStreams(streams).read()


def test_streams_of_different_schemas_are_refused() -> None:
    other = pa.table({"n": pa.array([1], pa.int32())})
    with pytest.raises(ValueError, match="different schemas"):
        JoinedStreams([ipc_bytes(_table(0, 1)), ipc_bytes(other)])


def test_bytes_that_are_not_a_stream_are_refused() -> None:
    with pytest.raises(ValueError, match="not an Arrow IPC stream"):
        JoinedStreams([ipc_bytes(_table(0, 1)), b"\x00\x01\x02 not arrow"])
    with pytest.raises(ValueError, match="no Arrow IPC stream"):
        JoinedStreams([])


def test_a_stream_with_dictionary_batches_is_refused() -> None:
    # Each stream numbers its dictionaries from zero: joined, the second would redefine the first.
    table = pa.table({"c": pa.array(["a", "b", "a"]).dictionary_encode()})
    with pytest.raises(ValueError, match="dictionary"):
        JoinedStreams([ipc_bytes(table), ipc_bytes(table)])
