"""A small seeded generator for the many open transactions of a long live run."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
_MASK = (1 << 64) - 1


class Rng(Protocol):
    """What the world draws from: `random.Random` or `LiteRandom`."""

    def random(self) -> float: ...

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float: ...

    def getrandbits(self, k: int) -> int: ...


class LiteRandom:
    """splitmix64: the few draws an open transaction still makes once planned (durations,
    IDs), in ~100 bytes instead of `random.Random`'s 2.5 KB Mersenne Twister state."""

    __slots__ = ("_state",)

    def __init__(self, seed: int = 0) -> None:
        self._state = seed & _MASK

    def seed(self, seed: int) -> None:
        self._state = seed & _MASK

    def _next(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def getrandbits(self, k: int) -> int:
        out, bits = 0, 0
        while bits < k:
            out = (out << 64) | self._next()
            bits += 64
        return out >> (bits - k)

    def random(self) -> float:
        return (self._next() >> 11) * (1.0 / (1 << 53))

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        # Box-Muller; 1 - random() keeps the logarithm's argument above zero.
        u1, u2 = 1.0 - self.random(), self.random()
        return mu + sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)

    def choice(self, seq: Sequence[T]) -> T:
        return seq[int(self.random() * len(seq))]


def new_event_id(rng: Rng) -> str:
    """A UUID drawn from the process's RNG, so a seed reproduces every event_id."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
