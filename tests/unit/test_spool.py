"""The spool: records survive a crash, a torn tail is cut, a full spool refuses."""

from __future__ import annotations

import threading

import pytest

from collector.spool import LargerThanSpool, Spool, SpoolFull


def test_records_come_back_in_order_after_reopen(tmp_path):
    spool = Spool(tmp_path, max_bytes=1 << 20)
    for i in range(5):
        spool.append("business_events", f"payload-{i}".encode(), rows=1)
    # No seal: as after kill -9, the open segment must be recovered on the next start.
    reopened = Spool(tmp_path, max_bytes=1 << 20)
    [segment] = reopened.sealed()
    assert [p for _, p in reopened.records(segment)] == [f"payload-{i}".encode() for i in range(5)]


def test_a_torn_tail_is_cut_and_the_rest_kept(tmp_path):
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append("otel_traces", b"complete", rows=1)
    [open_file] = list(tmp_path.glob("*.open"))
    with open(open_file, "ab") as fh:
        fh.write(b"\x40\x00\x00\x00garbage-half-written")  # a record cut by the crash
    reopened = Spool(tmp_path, max_bytes=1 << 20)
    [segment] = reopened.sealed()
    assert list(reopened.records(segment)) == [("otel_traces", b"complete")]


def test_full_spool_refuses_and_recovers_after_removal(tmp_path):
    spool = Spool(tmp_path, max_bytes=1 << 20)
    chunk = b"x" * (300 << 10)
    for _ in range(3):
        spool.append("t", chunk, rows=1)
    with pytest.raises(SpoolFull):
        spool.append("t", chunk, rows=1)
    spool.seal()
    for segment in spool.sealed():
        spool.remove(segment)
    spool.append("t", chunk, rows=1)
    assert spool.depth_bytes > len(chunk)


def test_concurrent_appends_share_fsyncs_and_lose_nothing(tmp_path):
    spool = Spool(tmp_path, max_bytes=64 << 20)

    def writer(n: int) -> None:
        for i in range(200):
            spool.append("t", f"{n}-{i}".encode(), rows=1)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spool.seal()
    got = [bytes(p) for s in spool.sealed() for _, p in spool.records(s)]
    assert sorted(got) == sorted(f"{n}-{i}".encode() for n in range(8) for i in range(200))


def test_the_append_that_fills_a_segment_seals_it(tmp_path):
    # Not left for the writer to seal: a writer busy with a long insert would find it grown.
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_rows=1000)
    spool.append("t", b"first", rows=600)
    assert spool.sealed() == []
    spool.append("t", b"second", rows=600)
    spool.append("t", b"third", rows=10)
    [full] = spool.sealed()
    assert [bytes(p) for _, p in spool.records(full)] == [b"first", b"second"]
    spool.seal()
    assert [bytes(p) for _, p in spool.records(spool.sealed()[-1])] == [b"third"]


def test_a_record_larger_than_the_whole_spool_is_not_spool_full(tmp_path):
    # "Full" tells the client to retry; a record that could never fit must not say so.
    spool = Spool(tmp_path, max_bytes=1 << 20)
    with pytest.raises(LargerThanSpool):
        spool.append("otel_traces", b"x" * (1 << 20), 1)
    spool.append("otel_traces", b"x" * 1000, 1)  # the spool itself is fine
