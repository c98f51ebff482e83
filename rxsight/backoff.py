"""The one back-off of the project: exponential steps with equal jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Attempt n (from 1) waits between half and all of min(maximum, initial * 2^(n-1)):
    retries spread out (no herd after an outage) but still back off."""

    initial: float
    maximum: float
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * 2 ** (max(attempt, 1) - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)
