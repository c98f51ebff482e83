"""Sign-in throttling: how locks start, grow, cap, expire and clear, on a clock we move."""

from __future__ import annotations

from rxsight.config import SignInConfig
from rxsight.sessions import FORGET_AFTER_S, SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_wrong_then_locks_that_double_up_to_the_cap() -> None:
    clock = Clock()
    throttle = SignInThrottle(SignInConfig(max_lock_s=10), clock)
    assert [throttle.failed("vera", "10.0.0.1") for _ in range(4)] == [0, 0, 0, 0]
    assert throttle.retry_after("vera", "10.0.0.1") == 0
    locks = []
    for _ in range(6):
        locks.append(throttle.failed("vera", "10.0.0.1"))
        assert throttle.retry_after("vera", "10.0.0.2") == locks[-1]  # the user, anywhere
        clock.now += locks[-1]  # wait it out exactly
        assert throttle.retry_after("vera", "10.0.0.1") == 0
    assert locks == [1, 2, 4, 8, 10, 10]


def test_a_success_clears_the_user_but_not_the_address() -> None:
    clock = Clock()
    throttle = SignInThrottle(SignInConfig(free_failures_per_address=6), clock)
    for _ in range(5):
        throttle.failed("vera", "10.0.0.1")
    clock.now += 1
    throttle.succeeded("vera")
    assert throttle.retry_after("vera", "10.0.0.9") == 0
    assert throttle.failed("otto", "10.0.0.1") == 1  # the address's 6th
    assert throttle.retry_after("ada", "10.0.0.1") == 1
    assert throttle.retry_after("ada", "10.0.0.2") == 0


def test_a_streak_is_forgotten_after_a_quiet_while() -> None:
    clock = Clock()
    throttle = SignInThrottle(SignInConfig(), clock)
    for _ in range(4):
        throttle.failed("vera", "10.0.0.1")
    clock.now += FORGET_AFTER_S + 1
    assert throttle.failed("vera", "10.0.0.1") == 0  # the count started again
