"""Evaluations pause the cyclic garbage collector and always turn it back on."""

from __future__ import annotations

import gc

import pytest

from rules.engine import cycle_collection_paused


def test_collection_resumes_only_when_every_overlapping_evaluation_ends() -> None:
    assert gc.isenabled()
    first = cycle_collection_paused()
    second = cycle_collection_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_collection_resumes_after_a_failure() -> None:
    with pytest.raises(RuntimeError), cycle_collection_paused():
        raise RuntimeError("a rule failed")
    assert gc.isenabled()


def test_a_collector_turned_off_elsewhere_stays_off() -> None:
    gc.disable()
    try:
        with cycle_collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
