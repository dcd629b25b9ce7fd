"""Resource-unit throttling: documented costs in x-ms-resource-unit, 429 with Retry-After on a burst."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from entrasnap.fakegraph import auth
from entrasnap.fakegraph.service import RunningFakeGraph


@pytest.mark.parametrize(
    ("path", "params", "cost"),
    [
        ("/v1.0/users", {}, 2),
        ("/v1.0/users", {"$select": "id,displayName"}, 1),
        ("/v1.0/users", {"$expand": "manager"}, 3),
        ("/v1.0/users", {"$top": "10"}, 1),
        ("/v1.0/users", {"$top": "20"}, 2),
        ("/v1.0/users", {"$top": "5", "$select": "id"}, 1),
        ("/v1.0/groups", {}, 1),
        ("/v1.0/groups", {"$select": "id"}, 1),
        ("/v1.0/groups", {"$expand": "members"}, 2),
    ],
)
def test_documented_costs(
    fakegraph_factory: Callable[..., RunningFakeGraph], path: str, params: dict[str, str], cost: int
) -> None:
    fake = fakegraph_factory(throttling=False)
    with fake.client() as http:
        response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["x-ms-resource-unit"] == str(cost)


def test_group_members_cost_three(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(throttling=False)
    group_id = fake.store.sets["groups"].ids()[0]
    with fake.client() as http:
        response = http.get(f"/v1.0/groups/{group_id}/members")
    assert response.status_code == 200
    assert response.headers["x-ms-resource-unit"] == "3"


def test_burst_is_throttled_with_retry_after(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(resource_units=20, time_scale=0.05)
    with fake.client() as http:
        statuses = []
        throttled: httpx.Response | None = None
        for _ in range(40):
            response = http.get("/v1.0/users", params={"$top": "50"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                throttled = response
                break
        assert throttled is not None, statuses
        assert statuses.count(200) >= 5  # 20 units hold ten requests of 2 units (plus refill)
        assert throttled.json()["error"]["code"] == "TooManyRequests"
        retry_after = float(throttled.headers["Retry-After"])
        assert 0 < retry_after <= 10 * 0.05 + 0.01
        time.sleep(retry_after + 0.05)
        again = http.get("/v1.0/users", params={"$top": "50"})
        assert again.status_code == 200, again.text
    info = httpx.get(f"{fake.url}/_fakegraph/info", timeout=30).json()
    assert info["throttled"] >= 1


def test_buckets_are_per_app(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(resource_units=4, time_scale=5.0)
    first = {
        "Authorization": "Bearer " + auth.issue_token(fake.tenant_id, ["User.Read.All"], app_id="app-one")
    }
    second = {
        "Authorization": "Bearer " + auth.issue_token(fake.tenant_id, ["User.Read.All"], app_id="app-two")
    }
    url = f"{fake.url}/v1.0/users"
    assert httpx.get(url, headers=first).status_code == 200
    assert httpx.get(url, headers=first).status_code == 200
    assert httpx.get(url, headers=first).status_code == 429
    assert httpx.get(url, headers=second).status_code == 200


def test_throttling_can_be_disabled(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(resource_units=2, time_scale=5.0, throttling=False)
    with fake.client() as http:
        assert all(http.get("/v1.0/users").status_code == 200 for _ in range(10))
