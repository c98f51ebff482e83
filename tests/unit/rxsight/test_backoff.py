"""The one back-off: exponential steps, equal jitter, a ceiling."""

from __future__ import annotations

import random

from rxsight.backoff import Backoff


def test_each_attempt_waits_half_to_all_of_its_step_up_to_the_ceiling() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, rng=random.Random(7))
    for attempt, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (30, 8.0)]:
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays), (attempt, min(delays), max(delays))
        # Jittered: retries of many clients do not line up.
        assert max(delays) - min(delays) > step / 4


def test_attempt_zero_is_treated_as_the_first() -> None:
    assert 0.5 <= Backoff(1.0, 10.0).delay(0) <= 1.0
