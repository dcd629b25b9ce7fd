"""JSON batching: limits, unique ids, dependsOn with 424, per-item 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from entrasnap.fakegraph.service import RunningFakeGraph

MISSING = "00000000-0000-0000-0000-0000000000bb"


def batch(http: httpx.Client, requests: list[dict[str, Any]]) -> httpx.Response:
    return http.post("/v1.0/$batch", json={"requests": requests})


def gets(n: int, url: str = "/users?$top=1") -> list[dict[str, Any]]:
    return [{"id": str(i + 1), "method": "GET", "url": url} for i in range(n)]


def by_id(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["responses"]}


def test_twenty_requests_allowed_twenty_one_rejected(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client() as http:
        ok = by_id(batch(http, gets(20)))
        assert len(ok) == 20
        assert all(r["status"] == 200 and r["body"]["value"] for r in ok.values())
        too_many = batch(http, gets(21))
        assert too_many.status_code == 400
        assert too_many.json()["error"]["code"] == "BadRequest"


def test_duplicate_ids_rejected(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client() as http:
        requests = gets(3)
        requests[2]["id"] = "1"
        response = batch(http, requests)
        assert response.status_code == 400
        assert "error" in response.json()


def test_failed_dependency_is_424(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client() as http:
        requests: list[dict[str, Any]] = [
            {"id": "a", "method": "GET", "url": f"/users/{MISSING}"},
            {"id": "b", "method": "GET", "url": "/users?$top=1", "dependsOn": ["a"]},
            {"id": "c", "method": "GET", "url": "/groups?$top=1"},
            {"id": "d", "method": "GET", "url": "/groups?$top=1", "dependsOn": ["c"]},
        ]
        out = by_id(batch(http, requests))
        assert out["a"]["status"] == 404
        assert out["a"]["body"]["error"]["code"] == "Request_ResourceNotFound"
        assert out["b"]["status"] == 424
        assert out["b"]["body"]["error"]["code"]
        assert out["c"]["status"] == 200
        assert out["d"]["status"] == 200


def test_inner_errors_and_permissions_apply(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client(roles=["User.Read.All"]) as http:
        out = by_id(
            batch(
                http,
                [
                    {"id": "1", "method": "GET", "url": "/users?$top=2"},
                    {"id": "2", "method": "GET", "url": "/groups"},
                    {"id": "3", "method": "GET", "url": "/nonsense"},
                ],
            )
        )
    assert out["1"]["status"] == 200 and len(out["1"]["body"]["value"]) == 2
    assert out["2"]["status"] == 403
    assert out["3"]["status"] == 400


def test_per_item_429_carries_retry_after(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(resource_units=6, time_scale=1.0)
    with fake.client() as http:
        response = batch(http, gets(10, "/users"))
        assert response.status_code == 200
        items = list(by_id(response).values())
    statuses = [r["status"] for r in items]
    assert 200 in statuses and 429 in statuses, statuses
    for item in items:
        if item["status"] == 429:
            headers = {k.lower(): v for k, v in item["headers"].items()}
            assert float(headers["retry-after"]) > 0
            assert item["body"]["error"]["code"] == "TooManyRequests"


def test_malformed_batch_is_400(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client() as http:
        assert http.post("/v1.0/$batch", json={"nope": []}).status_code == 400
        assert http.post("/v1.0/$batch", json={"requests": []}).status_code == 400
        unknown_dep = [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]
        assert batch(http, unknown_dep).status_code == 400
        assert http.get("/v1.0/$batch").status_code == 405
