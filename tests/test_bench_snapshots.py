"""The snapshot benchmark's machinery (bench/snapshots.py): the lower bound, and the fake's accounting against
the clients' own counts on a small tenant with latency and throttling on."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from entrasnap.fakegraph.tenant import generate

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


snapshots = _load("snapshots")


def test_lower_bound_by_hand() -> None:
    # 100 RU a bucket refilled in 10 s (10 RU/s); 0.1 s a request, 1 ms an object; one CA request a second.
    model = snapshots.Model(latency=0.1, per_object=0.001, capacity=100, refill_seconds=10, pace=1.0)
    bound = snapshots.lower_bound(model, units=350, chain_pages=3, chain_objects=2000, paced=5)
    assert bound.throttling == pytest.approx(25.0)  # (350 - 100 in the full bucket) / 10 RU/s
    assert bound.chain == pytest.approx(2.3)  # 3 x 0.1 s + 2000 x 1 ms
    assert bound.pacing == pytest.approx(4.1)  # 4 gaps of 1 s, then the last answer's latency
    assert (bound.seconds, bound.limit) == (pytest.approx(25.0), "throttling")
    assert snapshots.lower_bound(
        model, units=50, chain_pages=1, chain_objects=0, paced=0
    ).seconds == pytest.approx(0.1)


def test_fake_counts_equal_the_clients_counts(tmp_path: Path) -> None:
    """Both clients against a throttled, latent fake: its requests, round trips, RU and 429s are the clients'."""
    settings = {
        "time_scale": 0.1,
        "latency_ms": 100.0,
        "per_object_ms": 0.1,
        "throttling": True,
        "resource_units": 20,  # a bucket of 20 RU refilled in 1 s: both clients (~42 and ~165 RU) are throttled
    }
    runs = snapshots.measure(
        generate("S", 1), ["entrasnap", "baseline"], tmp_path, settings, types="users,groups"
    )
    ours, base = runs
    for run in runs:
        assert run.exit_code == 0
        assert run.mismatches == [], run.mismatches
        assert run.requests > run.round_trips > 0
        assert run.throttled > 0
        assert run.peak_rss > 10 * 2**20
        assert run.bound is not None and run.bound.seconds > 0
    assert ours.repo_bytes and ours.repo_bytes > 0
    # The baseline pages users at Graph's default 100: 200 users are a chain of two pages; entrasnap asks 999.
    assert base.chain == {"path": "/v1.0/users", "pages": 2, "objects": 200}
    assert ours.chain["pages"] == 1
    # RU: everything the fake charged beyond the first bucket, at 20 RU per (10 s x 0.1).
    assert ours.bound.throttling == pytest.approx((ours.resource_units - 20) / 20)
    assert ours.wall > ours.bound.seconds
