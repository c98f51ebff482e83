"""Which failures are allocation failures (retried or refused as retryable, never taken for
bad data), and the ingest budget that keeps them rare."""

from __future__ import annotations

import errno

import pytest

from collector.inflight import InFlight, Overloaded
from collector.refusals import refusal_of
from rxsight.malloc import is_out_of_memory


def test_allocation_failures_are_recognised_through_their_causes():
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(OSError(errno.ENOMEM, "Cannot allocate memory"))
    assert is_out_of_memory(RuntimeError("can't start new thread"))
    assert is_out_of_memory(Exception("Code: 241. DB::Exception: Memory limit exceeded"))
    try:
        try:
            raise MemoryError
        except MemoryError as inner:
            raise ValueError("decoding failed") from inner
    except ValueError as outer:
        assert is_out_of_memory(outer)
    assert not is_out_of_memory(ValueError("quantity: not a number"))
    assert not is_out_of_memory(OSError(errno.ENOSPC, "No space left on device"))


def test_an_allocation_failure_is_refused_as_retryable_overload():
    refusal = refusal_of(MemoryError())
    assert refusal is not None
    assert refusal.http_status == 503
    assert refusal.retry_after_s and refusal.retry_after_s >= 1


def test_the_budget_refuses_past_its_bound_and_frees_what_was_held():
    budget = InFlight(100)
    with budget.hold(60) as first:
        with pytest.raises(Overloaded):
            budget.hold(50)
        first.grow(90)  # decompressed
        assert budget.held_bytes == 90
        with pytest.raises(Overloaded):
            first.grow(200)
        assert budget.held_bytes == 90
    assert budget.held_bytes == 0
    with budget.hold(100):
        pass
    # One request alone always gets in (config check refuses a budget below one request).
    with budget.hold(150):
        assert budget.held_bytes == 150
    assert budget.held_bytes == 0
