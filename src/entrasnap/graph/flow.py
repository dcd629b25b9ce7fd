"""Flow control for the Graph client: adaptive concurrency (AIMD), pacing per key, backoff with jitter."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

BACKOFF_BASE = 0.5  # seconds before the first retry (before jitter and scaling)
BACKOFF_CAP = 60.0


def backoff(attempt: int, scale: float = 1.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter for retry number ``attempt`` (0-based), capped, scaled."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt)
    return (rng or random).uniform(0.0, ceiling) * scale


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (Graph sends numbers, possibly fractional); None when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)


class AdaptiveLimit:
    """At most ``limit`` requests in flight; halves on throttling, grows by about one per round of successes.

    A decrease only counts for requests sent after the previous decrease (an *epoch*), so a burst of
    429s from one overload halves the limit once, not once per request.
    """

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = float(self.maximum)
        self.in_flight = 0
        self.epoch = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one slot; yields the epoch the request was sent in."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1
        try:
            yield self.epoch
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def succeeded(self) -> None:
        self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)

    async def throttled(self, epoch: int) -> None:
        if epoch != self.epoch:
            return
        async with self._changed:
            self.epoch += 1
            self.limit = max(1.0, self.limit / 2.0)
            self._changed.notify_all()


class Pacer:
    """Serialises requests sharing a key: at most one per ``interval`` seconds, measured from the end of
    the previous response to the next send, so the server never sees two closer than ``interval``."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    @asynccontextmanager
    async def turn(self, key: str | None) -> AsyncIterator[float]:
        """Wait for ``key``'s turn (no-op for None); yields the seconds waited."""
        if key is None:
            yield 0.0
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            waited = max(0.0, self._last.get(key, -float("inf")) + self.interval - time.monotonic())
            if waited > 0:
                await asyncio.sleep(waited)
            try:
                yield waited
            finally:
                self._last[key] = time.monotonic()
