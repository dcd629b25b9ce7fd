"""Injected faults and the latency model: 5xx bodies, dropped responses, scripted rules, slow responses."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from entrasnap.fakegraph.service import RunningFakeGraph

FIVE_XX = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}


def test_error_rate_gives_graph_5xx_bodies(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(error_rate=1.0, throttling=False)
    with fake.client() as http:
        for _ in range(8):
            response = http.get("/v1.0/users")
            assert response.status_code in FIVE_XX
            error = response.json()["error"]
            assert error["code"] == FIVE_XX[response.status_code]
            assert error["innerError"]["request-id"]


def test_drop_rate_cuts_the_response(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(drop_rate=1.0, throttling=False)
    with fake.client() as http:
        for _ in range(3):
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                http.get("/v1.0/users")


def test_scripted_rule(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(throttling=False)
    rule = {"path": "^/users$", "fault": "503", "times": 2, "retry_after": 0.1}
    assert httpx.post(f"{fake.url}/_fakegraph/faults", json=rule, timeout=30).status_code == 200
    with fake.client() as http:
        assert http.get("/v1.0/groups").status_code == 200  # other paths unaffected
        user_id = fake.store.sets["users"].ids()[0]
        assert http.get(f"/v1.0/users/{user_id}").status_code == 200  # the regex is anchored
        for _ in range(2):
            failed = http.get("/v1.0/users")
            assert failed.status_code == 503
            assert failed.json()["error"]["code"] == "ServiceUnavailable"
            assert float(failed.headers["Retry-After"]) == pytest.approx(0.1)
        assert http.get("/v1.0/users").status_code == 200
        httpx.post(f"{fake.url}/_fakegraph/faults", json={**rule, "fault": "429", "times": 1}, timeout=30)
        throttled = http.get("/v1.0/users")
        assert throttled.status_code == 429
        assert throttled.json()["error"]["code"] == "TooManyRequests"
        httpx.post(f"{fake.url}/_fakegraph/faults", json={**rule, "times": 5}, timeout=30)
        assert httpx.delete(f"{fake.url}/_fakegraph/faults", timeout=30).status_code == 200
        assert http.get("/v1.0/users").status_code == 200
    bad = httpx.post(
        f"{fake.url}/_fakegraph/faults", json={"path": "x", "fault": "503", "nope": 1}, timeout=30
    )
    assert bad.status_code == 400


def elapsed(http: httpx.Client, path: str, params: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    response = http.get(path, params=params or {})
    assert response.status_code == 200, response.text
    return time.perf_counter() - start


def test_slow_rule_and_slow_rate(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(throttling=False)
    httpx.post(
        f"{fake.url}/_fakegraph/faults",
        json={"path": "^/users$", "fault": "slow", "delay_ms": 300},
        timeout=30,
    )
    with fake.client() as http:
        assert elapsed(http, "/v1.0/users") >= 0.28
    slow = fakegraph_factory(throttling=False, slow_rate=1.0, slow_ms=250)
    with slow.client() as http:
        assert elapsed(http, "/v1.0/groups") >= 0.23


def test_latency_model(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(throttling=False, latency_ms=200)
    with fake.client() as http:
        assert elapsed(http, "/v1.0/users", {"$top": "1"}) >= 0.18
    per_object = fakegraph_factory(throttling=False, per_object_ms=5)
    with per_object.client() as http:
        assert elapsed(http, "/v1.0/users", {"$top": "100"}) >= 0.45
    scaled = fakegraph_factory(throttling=False, latency_ms=1000, time_scale=0.3)
    with scaled.client() as http:
        assert elapsed(http, "/v1.0/groups", {"$top": "1"}) >= 0.27
