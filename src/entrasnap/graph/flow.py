"""Flow control for the Graph client: adaptive concurrency (AIMD), pacing per key and by resource units,
backoff with jitter."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
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
    429s from one overload halves the limit once, not once per request. Waiting requests get a freed slot
    in arrival order, urgent ones first (the next page of a collection: a chain of requests one after
    another, which every request let in before it would lengthen); a freed slot wakes one waiter only.
    """

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = float(self.maximum)
        self.in_flight = 0
        self.epoch = 0
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._waiting: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self, urgent: bool = False) -> AsyncIterator[int]:
        """Hold one slot; yields the epoch the request was sent in."""
        turn = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._waiting
        queue.append(turn)
        self._admit()  # at once if a slot is free and nobody is ahead: awaiting a done future does not wait
        try:
            await turn  # the slot is ours (counted) once it is done
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # handed over, then cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):  # unless a release already dropped it
                    queue.remove(turn)
                self._admit()  # those queued behind it while a slot was free
            raise
        try:
            yield self.epoch
        finally:
            self._release()

    def _release(self) -> None:
        self.in_flight -= 1
        self._admit()

    def _admit(self) -> None:
        """Hand free slots to the first waiters, urgent ones first."""
        while self.in_flight < int(self.limit):
            queue = self._urgent or self._waiting
            if not queue:
                return
            turn = queue.popleft()
            if not turn.done():
                self.in_flight += 1
                turn.set_result(None)

    def restore(self) -> None:
        """Back to the maximum (another control now keeps the service from being overloaded)."""
        self.limit = float(self.maximum)
        self._admit()

    def succeeded(self) -> None:
        self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
        self._admit()

    async def throttled(self, epoch: int) -> None:
        if epoch != self.epoch:
            return
        self.epoch += 1
        self.limit = max(1.0, self.limit / 2.0)


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


class UnitPacer:
    """Spends resource units no faster than the service refills them, once its throttling has shown how fast.

    Graph's identity services charge each request resource units (``x-ms-resource-unit``) from a bucket per
    app and tenant that refills at a steady rate, and answer 429 when it is empty
    (https://learn.microsoft.com/en-us/graph/throttling-limits#identity-and-access-service-limits). Each 429
    marks a moment the bucket was empty, so the units accepted between two such moments, over the time
    between them, are what it refilled: its rate, whatever its size (a span in which it may have filled up
    and overflowed is not used). Both are taken by the time requests were sent, not answered: the answers
    to a burst in flight at the first moment would otherwise count as refilled. Until a rate is known
    nothing waits (a full bucket allows a burst); from then on requests are let through at a little less
    than that rate by their expected units, and after ``probe`` seconds without a 429 the rate grows by a
    tenth, so the bucket is found empty again (and a higher limit found).
    """

    MIN_SPAN = 3.0  # seconds between two empty moments for a measurement
    MAX_SPAN = 20.0  # longer spans may hold time the bucket was full (the identity bucket refills in 10 s)
    BURST = 0.2  # seconds of units let through at once after an idle moment
    SHARE = 0.95  # of the measured rate used, leaving the bucket a little to absorb bursts

    def __init__(
        self,
        *,
        probe: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate: float | None = None  # units a second, once measured
        self.per_request = 1.0  # units a request is expected to cost (a running mean)
        self.probe = probe
        self._clock, self._sleep = clock, sleep
        self._empty_at: float | None = None  # the last moment the bucket was found empty
        self._spent = 0.0  # units accepted since then
        self._next = -float("inf")  # when the next request may go (at the paced rate)
        self._probed = 0.0

    def spent(self, units: float, sent: float) -> None:
        """A request sent at ``sent`` was accepted and charged ``units``."""
        self.per_request += (units - self.per_request) * 0.05
        if self._empty_at is not None and sent >= self._empty_at:
            self._spent += units

    def throttled(self, sent: float) -> None:
        """A request sent at ``sent`` was refused for want of units (429): the bucket was empty then."""
        self._probed = self._clock()
        if self._empty_at is not None and sent < self._empty_at:
            return  # an answer to an older request: nothing new
        if self._empty_at is None or sent - self._empty_at > self.MAX_SPAN:
            self._empty_at, self._spent = sent, 0.0
        elif sent - self._empty_at >= self.MIN_SPAN:
            self.rate = max(self._spent / (sent - self._empty_at), 1.0) * self.SHARE
            self._empty_at, self._spent = sent, 0.0

    async def take(self, requests: int = 1, urgent: bool = False) -> float:
        """Wait until ``requests`` requests' expected units may be spent; returns the seconds waited.
        ``urgent`` requests (the next page of a chain) go at once, their units taken from the others' turns."""
        if self.rate is None:
            return 0.0
        now = self._clock()
        if now - self._probed >= self.probe:
            self.rate *= 1.1
            self._probed = now
        start = max(self._next, now - self.BURST)
        self._next = start + requests * self.per_request / self.rate
        wait = start - now
        if wait > 0 and not urgent:
            await self._sleep(wait)
            return wait
        return 0.0
