"""Plain data the Graph client takes and gives: batch items and results, statistics, events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class BatchItem:
    """One request inside ``$batch``; ``url`` is relative to the version, e.g. ``/groups/x/members``."""

    id: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class BatchResult:
    """The final answer to one batch item, after retries."""

    id: str
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class ClientStats:
    """Counters of one client.

    ``requests``: Graph requests asked for (each page, each get, each batch item; retries not counted);
    ``round_trips``: HTTP exchanges (retries and each ``$batch`` POST included); ``batch_items``: items
    sent inside batches (re-sent items included); ``throttled``: 429s seen (top level and batch items);
    ``retries``: re-sends; ``wait_seconds``: time spent sleeping before sends (Retry-After, backoff,
    pacing), summed over concurrent requests; ``resource_units``: sum of ``x-ms-resource-unit``;
    ``errors``: requests that failed for good (raised, or batch results with status >= 400).
    """

    requests: int = 0
    round_trips: int = 0
    batch_items: int = 0
    throttled: int = 0
    retries: int = 0
    wait_seconds: float = 0.0
    resource_units: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


@dataclass(frozen=True)
class GraphEvent:
    """Something worth showing while the client works: ``kind`` is "throttled", "retry" or "token-refresh"."""

    kind: str
    url: str
    status: int  # 0 when no response arrived (connection error)
    attempt: int
    wait: float
    detail: str = ""


EventHandler = Callable[[GraphEvent], None]
