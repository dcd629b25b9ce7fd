"""Deterministic generation context: sizes, seeded randomness, ids, timestamps and names."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

from entrasnap.fakegraph.state import isotime


@dataclass(frozen=True)
class Plan:
    """How big a generated tenant is."""

    users: int
    groups: int
    avg_members: int
    applications: int
    service_principals: int
    ca_policies: int
    pim_eligibilities: int
    resource_units_per_10s: int  # Graph's identity throttling bucket for a tenant of this size
    devices: int
    administrative_units: int


SIZES: dict[str, Plan] = {
    "S": Plan(200, 40, 8, 20, 60, 15, 20, 3_500, 80, 4),
    "M": Plan(20_000, 5_000, 25, 1_500, 3_000, 150, 400, 5_000, 6_000, 40),
    "L": Plan(200_000, 40_000, 40, 10_000, 20_000, 400, 3_000, 8_000, 50_000, 200),
}

# Fixed reference time so that one seed always gives the same tenant.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_EPOCH_SECONDS = int(EPOCH.timestamp())
T = TypeVar("T")


@lru_cache(maxsize=8192)
def _day(day_number: int) -> str:
    return isotime(datetime.fromtimestamp(day_number * 86_400, UTC))[:10]


def _stamp(seconds: int) -> str:
    """Graph's UTC timestamp for ``seconds`` since 1970, without datetime's cost per call."""
    day, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{_day(day)}T{hours:02d}:{minutes:02d}:{secs:02d}Z"


class Context:
    """Seeded helpers shared by the area generators; each area draws from its own stream."""

    def __init__(self, plan: Plan, seed: int, area: str, tenant_id: str, domain: str) -> None:
        self.plan = plan
        self.seed = seed
        self.area = area
        self.tenant_id = tenant_id
        self.domain = domain
        self.rng = random.Random(f"{seed}:{area}")

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def time(self, days_ago_max: float = 900.0, days_ago_min: float = 0.0) -> str:
        """A timestamp between ``days_ago_max`` and ``days_ago_min`` days before the epoch."""
        days = days_ago_min + (days_ago_max - days_ago_min) * self.rng.random()
        return _stamp(_EPOCH_SECONDS - int(days * 86_400))

    def future(self, days_min: float = 30.0, days_max: float = 730.0) -> str:
        days = days_min + (days_max - days_min) * self.rng.random()
        return _stamp(_EPOCH_SECONDS + int(days * 86_400))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def below(self, n: int) -> int:
        """A whole number in [0, n); faster than rng.randrange for the generators' hot loops."""
        return int(self.rng.random() * n)

    def between(self, low: int, high: int) -> int:
        """A whole number in [low, high)."""
        return low + int(self.rng.random() * (high - low))

    def choice(self, items: Sequence[T]) -> T:
        return items[int(self.rng.random() * len(items))]

    def pick(self, items: list[str]) -> str:
        return items[int(self.rng.random() * len(items))]

    def sample(self, items: list[str], count: int) -> list[str]:
        return self.rng.sample(items, min(count, len(items)))
