"""pytest fixtures that serve a fake tenant on loopback: ``fakegraph`` and ``fakegraph_factory``.

Installed with entrasnap (a ``pytest11`` entry point), so users' own pipeline tests can use them::

    def test_my_pipeline(fakegraph):
        run_my_export(graph_url=fakegraph.url, token=fakegraph.token(["User.Read.All"]))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from entrasnap.fakegraph.service import RunningFakeGraph, start


@pytest.fixture
def fakegraph_factory() -> Iterator[Callable[..., RunningFakeGraph]]:
    """Start fake tenants with chosen size, seed, licences and behaviour settings; stopped after the test."""
    started: list[RunningFakeGraph] = []

    def factory(**kwargs: Any) -> RunningFakeGraph:
        running = start(**kwargs)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


@pytest.fixture
def fakegraph(fakegraph_factory: Callable[..., RunningFakeGraph]) -> RunningFakeGraph:
    """A small (S) fake tenant, seed 1, every licence, no latency or faults, throttling on."""
    return fakegraph_factory()
