"""Generic Graph behaviour of fakegraph's core over HTTP: routing errors, OData options, $expand."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from entrasnap.fakegraph.areas import all_resources
from entrasnap.fakegraph.areas.users import GROUP_DEFAULT_SELECT, USER_DEFAULT_SELECT
from entrasnap.fakegraph.service import RunningFakeGraph, start

MISSING = "00000000-0000-0000-0000-0000000000aa"


@pytest.fixture(scope="module")
def tenant() -> Iterator[RunningFakeGraph]:
    running = start(size="S", seed=3, throttling=False)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http(tenant: RunningFakeGraph) -> Iterator[httpx.Client]:
    with tenant.client() as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "innerError"} <= set(error), error
    assert {"request-id", "date"} <= set(error["innerError"])
    return dict(error)


def test_unknown_segment_is_400_resource_not_found(http: httpx.Client) -> None:
    response = http.get("/v1.0/usersz")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "BadRequest"
    assert error["message"] == "Resource not found for the segment 'usersz'."
    nested = http.get(f"/v1.0/groups/{MISSING}/memberz")
    assert nested.status_code == 400
    assert "Resource not found for the segment 'memberz'" in error_of(nested)["message"]


def test_unknown_version_is_400(http: httpx.Client) -> None:
    response = http.get("/v2.0/users")
    assert response.status_code == 400
    assert error_of(response)["code"] == "BadRequest"


def test_path_of_the_other_version_is_400() -> None:
    served = {v: {r.path.lower() for r in all_resources() if v in r.versions} for v in ("v1.0", "beta")}
    beta_only = [r for r in all_resources() if "{" not in r.path and r.path.lower() not in served["v1.0"]]
    v1_only = [r for r in all_resources() if "{" not in r.path and r.path.lower() not in served["beta"]]
    if not beta_only and not v1_only:
        pytest.skip("no version-specific top-level resource declared yet")
    running = start(size="S", seed=3, throttling=False)
    try:
        http = running.client()
        for res, wrong in [*((r, "v1.0") for r in beta_only), *((r, "beta") for r in v1_only)]:
            response = http.get(f"/{wrong}{res.path}")
            assert response.status_code == 400, (wrong, res.path, response.text)
            last = res.path.rstrip("/").rsplit("/", 1)[-1]
            assert error_of(response)["message"] == f"Resource not found for the segment '{last}'."
    finally:
        running.stop()


def test_unknown_id_is_404(http: httpx.Client) -> None:
    for path in (f"/v1.0/users/{MISSING}", f"/v1.0/groups/{MISSING}", f"/v1.0/groups/{MISSING}/members"):
        response = http.get(path)
        assert response.status_code == 404, path
        error = error_of(response)
        assert error["code"] == "Request_ResourceNotFound"
        assert MISSING in error["message"]


def test_top_over_maximum_is_400(http: httpx.Client) -> None:
    assert http.get("/v1.0/users", params={"$top": "999"}).status_code == 200
    response = http.get("/v1.0/users", params={"$top": "1000"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "Request_UnsupportedQuery"
    assert http.get("/v1.0/users", params={"$top": "0"}).status_code == 400


@pytest.mark.parametrize(
    "bad", ["displayName eq", "displayName eq 'a", "(displayName eq 'a'", "startswith(", "displayName xx 'a'"]
)
def test_bad_filter_is_400(http: httpx.Client, bad: str) -> None:
    response = http.get("/v1.0/users", params={"$filter": bad})
    assert response.status_code == 400, (bad, response.text)
    assert error_of(response)["code"].startswith(("BadRequest", "Request_"))


def test_default_property_sets(http: httpx.Client, tenant: RunningFakeGraph) -> None:
    for path, default in (("/v1.0/users", USER_DEFAULT_SELECT), ("/v1.0/groups", GROUP_DEFAULT_SELECT)):
        body = http.get(path).json()
        assert body["value"]
        for obj in body["value"]:
            assert set(obj) <= set(default), set(obj) - set(default)
        assert set(default) == set().union(*(set(o) for o in body["value"]))
        chosen = http.get(path, params={"$select": "id,displayName,createdDateTime"}).json()
        assert chosen["@odata.context"].endswith("(id,displayName,createdDateTime)")
        for obj in chosen["value"]:
            assert set(obj) <= {"id", "displayName", "createdDateTime"}
            assert {"id", "displayName"} <= set(obj)
    user_id = tenant.store.sets["users"].ids()[0]
    single = http.get(f"/v1.0/users/{user_id}").json()
    assert set(single) - {"@odata.context"} <= set(USER_DEFAULT_SELECT)
    wide = http.get(f"/v1.0/users/{user_id}", params={"$select": "accountEnabled,department"}).json()
    assert set(wide) - {"@odata.context"} <= {"id", "accountEnabled", "department"}
    assert "accountEnabled" in wide


def test_count_needs_consistency_level(http: httpx.Client, tenant: RunningFakeGraph) -> None:
    total = len(tenant.store.sets["users"])
    without = http.get("/v1.0/users", params={"$count": "true"})
    assert without.status_code == 400
    eventual = {"ConsistencyLevel": "eventual"}
    body = http.get("/v1.0/users", params={"$count": "true"}, headers=eventual).json()
    assert body["@odata.count"] == total
    assert http.get("/v1.0/users/$count").status_code == 400
    plain = http.get("/v1.0/users/$count", headers=eventual)
    assert plain.status_code == 200
    assert plain.text == str(total)
    assert plain.headers["content-type"].startswith("text/plain")


def collect(
    http: httpx.Client, path: str, params: dict[str, str], headers: dict[str, str] | None = None
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    response = http.get(path, params=params, headers=headers or {})
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        out += body["value"]
        if "@odata.nextLink" not in body:
            return out
        response = http.get(body["@odata.nextLink"], headers=headers or {})


def test_filters_on_users_and_groups(http: httpx.Client, tenant: RunningFakeGraph) -> None:
    users = list(tenant.store.sets["users"].after())
    groups = list(tenant.store.sets["groups"].after())
    first = users[5]["displayName"]
    prefix = first[:2]
    got = collect(http, "/v1.0/users", {"$filter": f"startswith(displayName,'{prefix}')"})
    want = {u["id"] for u in users if u["displayName"].lower().startswith(prefix.lower())}
    assert {u["id"] for u in got} == want and want
    guests = collect(http, "/v1.0/users", {"$filter": "userType eq 'Guest'", "$select": "id,userType"})
    assert {u["id"] for u in guests} == {u["id"] for u in users if u["userType"] == "Guest"}
    assert all(u["userType"] == "Guest" for u in guests)
    unified = collect(http, "/v1.0/groups", {"$filter": "groupTypes/any(c:c eq 'Unified')"})
    want_unified = {g["id"] for g in groups if "Unified" in g["groupTypes"]}
    assert {g["id"] for g in unified} == want_unified and want_unified
    upn = users[7]["userPrincipalName"]
    one = collect(http, "/v1.0/users", {"$filter": f"userPrincipalName eq '{upn}'"})
    assert [u["id"] for u in one] == [users[7]["id"]]


def test_expand_members_on_groups(http: httpx.Client, tenant: RunningFakeGraph) -> None:
    store = tenant.store
    body = http.get("/v1.0/groups", params={"$expand": "members", "$top": "20"}).json()
    assert body["value"]
    nonempty = 0
    for group in body["value"]:
        assert isinstance(group["members"], list)
        linked = store.linked("groups/members", group["id"])
        ids = [m["id"] for m in group["members"]]
        assert set(ids) <= set(linked)
        assert len(ids) == min(len(linked), 20)
        nonempty += bool(ids)
        for member in group["members"]:
            assert member["@odata.type"] in {
                "#microsoft.graph.user",
                "#microsoft.graph.group",
                "#microsoft.graph.device",
                "#microsoft.graph.servicePrincipal",
                "#microsoft.graph.orgContact",
            }
    assert nonempty
    unknown = http.get("/v1.0/groups", params={"$expand": "nonsense"})
    assert unknown.status_code == 400


def test_unsupported_options_are_rejected(http: httpx.Client) -> None:
    assert http.get("/v1.0/users", params={"$skip": "10"}).status_code == 400
    assert http.get("/v1.0/users", params={"$orderby": "displayName"}).status_code == 400
    ordered = http.get(
        "/v1.0/users",
        params={"$orderby": "displayName", "$count": "true"},
        headers={"ConsistencyLevel": "eventual"},
    )
    assert ordered.status_code == 200


def test_errors_carry_request_ids(http: httpx.Client) -> None:
    response = http.get(f"/v1.0/users/{MISSING}", headers={"client-request-id": "abc-123"})
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"]
    assert error_of(response)["innerError"]["client-request-id"] == "abc-123"  # type: ignore[index]
