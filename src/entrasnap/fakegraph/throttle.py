"""Graph's identity and access throttling: resource-unit token buckets and Conditional Access pacing.

Per app and tenant, a bucket of resource units refills over 10 seconds (3,500, 5,000 or 8,000 by
tenant size). A request that finds too few units left is answered 429 TooManyRequests with the
seconds to wait in Retry-After. Conditional Access policies and named locations allow one request
per second per tenant, for all apps together, and answer 429 without Retry-After. Times are scaled
by ``time_scale`` so that benchmarks can run a large tenant in minutes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from entrasnap.fakegraph.odata import GraphError

WINDOW_SECONDS = 10.0


@dataclass
class Bucket:
    capacity: float
    refill_per_second: float
    units: float
    updated: float

    def refill(self, now: float) -> None:
        self.units = min(self.capacity, self.units + (now - self.updated) * self.refill_per_second)
        self.updated = now


@dataclass
class Limiter:
    """Token buckets per app (the tenant is implicit: one limiter serves one tenant)."""

    units_per_window: int
    time_scale: float = 1.0
    enabled: bool = True
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, Bucket] = field(default_factory=dict)
    last_paced: float = -math.inf
    throttled: int = 0
    units_used: int = 0
    paced_requests: int = 0  # paced requests let through (Conditional Access), for benchmarks' bounds
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def window(self) -> float:
        return WINDOW_SECONDS * self.time_scale

    def acquire(self, app_id: str, cost: int, *, paced: bool = False, write: bool = False) -> None:
        """Take ``cost`` units or raise a 429 GraphError."""
        if not self.enabled:
            self.units_used += cost
            return
        with self._lock:
            now = self.clock()
            if paced:
                if now - self.last_paced < self.time_scale:
                    self.throttled += 1
                    raise too_many_requests(None)
                self.last_paced = now
                self.paced_requests += 1
            bucket = self.buckets.get(app_id)
            if bucket is None:
                capacity = float(self.units_per_window)
                bucket = self.buckets[app_id] = Bucket(capacity, capacity / self.window, capacity, now)
            bucket.refill(now)
            if bucket.units < cost:
                self.throttled += 1
                wait = (cost - bucket.units) / bucket.refill_per_second
                raise too_many_requests(wait)
            bucket.units -= cost
            self.units_used += cost


def too_many_requests(retry_after: float | None) -> GraphError:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = f"{max(retry_after, 0.001):.3f}".rstrip("0").rstrip(".")
    return GraphError(429, "TooManyRequests", "Please retry again later.", headers)
