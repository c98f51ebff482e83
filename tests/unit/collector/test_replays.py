"""Recent request digests: remembered for a window, within a capacity, by exact content."""

from __future__ import annotations

from collector.replays import RecentRequests


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_same_body_is_recognised_within_the_window_only():
    clock = Clock()
    recent: RecentRequests[str] = RecentRequests(window_s=60, capacity=10, clock=clock)
    key = RecentRequests.key("erp", "application/x-protobuf", b"body")
    recent.remember(key, "answer")
    assert recent.answer_for(RecentRequests.key("erp", "application/x-protobuf", b"body")) == (
        "answer"
    )
    assert recent.answer_for(RecentRequests.key("erp", "application/x-protobuf", b"bodz")) is None
    assert (
        recent.answer_for(RecentRequests.key("pharmacy", "application/x-protobuf", b"body")) is None
    )
    clock.now += 61
    assert recent.answer_for(key) is None


def test_parts_are_delimited_so_they_cannot_run_together():
    assert RecentRequests.key("ab", "c") != RecentRequests.key("a", "bc")


def test_the_oldest_go_first_past_the_capacity():
    recent: RecentRequests[int] = RecentRequests(window_s=60, capacity=3, clock=Clock())
    keys = [RecentRequests.key(str(i)) for i in range(5)]
    for i, key in enumerate(keys):
        recent.remember(key, i)
    assert [recent.answer_for(k) for k in keys] == [None, None, 2, 3, 4]
