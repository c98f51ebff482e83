"""The per-token bucket: bursts up to `burst`, then `requests_per_s`, with the wait to say."""

from __future__ import annotations

import pytest

from collector.ratelimit import RateLimiter, Throttled
from rxsight.config import RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_and_the_wait_until_the_next():
    clock = Clock()
    limiter = RateLimiter(RateLimit(requests_per_s=2, burst=3), {}, clock)
    for _ in range(3):
        limiter.take("erp")
    with pytest.raises(Throttled) as refused:
        limiter.take("erp")
    assert refused.value.retry_after_s == pytest.approx(0.5)
    assert "'erp'" in str(refused.value) and "2 requests/s" in str(refused.value)
    clock.now += 0.5
    limiter.take("erp")  # one request's worth refilled
    with pytest.raises(Throttled):
        limiter.take("erp")


def test_each_token_has_its_own_bucket_and_may_have_its_own_limit():
    clock = Clock()
    limiter = RateLimiter(
        RateLimit(requests_per_s=1, burst=1), {"edge": RateLimit(requests_per_s=1, burst=5)}, clock
    )
    limiter.take("erp")
    with pytest.raises(Throttled):
        limiter.take("erp")
    limiter.take("pharmacy")  # another token is not held back by erp
    for _ in range(5):
        limiter.take("edge")
    with pytest.raises(Throttled):
        limiter.take("edge")


def test_a_quiet_spell_refills_no_more_than_the_burst():
    clock = Clock()
    limiter = RateLimiter(RateLimit(requests_per_s=10, burst=2), {}, clock)
    clock.now += 3600
    limiter.take("erp")
    limiter.take("erp")
    with pytest.raises(Throttled):
        limiter.take("erp")


def test_zero_requests_per_second_is_no_limit():
    limiter = RateLimiter(RateLimit(requests_per_s=0, burst=1), {}, Clock())
    for _ in range(1000):
        limiter.take("erp")
