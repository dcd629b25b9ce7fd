"""Realistic mutations through ``POST /_fakegraph/mutate``, seen through Graph URLs and delta."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from entrasnap.fakegraph import mutate
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.fakegraph.tenant import generate

CA = "identity/conditionalAccess/policies"


def act(client: httpx.Client, running: RunningFakeGraph, **payload: Any) -> dict[str, Any]:
    response = client.post(f"{running.url}/_fakegraph/mutate", json=payload)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def delta_round(client: httpx.Client, url: str) -> tuple[list[dict[str, Any]], str]:
    found: list[dict[str, Any]] = []
    while True:
        page = client.get(url).json()
        found += page["value"]
        if "@odata.deltaLink" in page:
            return found, page["@odata.deltaLink"]
        url = page["@odata.nextLink"]


def test_rename_user_is_visible_and_in_delta(fakegraph: RunningFakeGraph) -> None:
    uid = fakegraph.store.sets["users"].ids()[4]
    with fakegraph.client() as client:
        _, link = delta_round(client, "/v1.0/users/delta")
        summary = act(client, fakegraph, action="rename", id=uid, displayName="Renamed Person")
        assert summary["changes"] == [{"set": "users", "id": uid, "kind": "upserted"}]
        assert client.get(f"/v1.0/users/{uid}").json()["displayName"] == "Renamed Person"
        changed, _ = delta_round(client, link)
        assert [(u["id"], u["displayName"]) for u in changed] == [(uid, "Renamed Person")]


def test_conditional_access_state_and_exclusions(fakegraph_factory: Any) -> None:
    fakegraph = fakegraph_factory(throttling=False)  # CA allows one request per second
    store = fakegraph.store
    policy_id = store.sets[CA].ids()[0]
    uid = store.sets["users"].ids()[1]
    gid = store.sets["groups"].ids()[1]
    with fakegraph.client() as client:
        url = f"/v1.0/identity/conditionalAccess/policies/{policy_id}"
        act(client, fakegraph, action="ca_state", id=policy_id, state="report-only")
        assert client.get(url).json()["state"] == "enabledForReportingButNotEnforced"
        act(client, fakegraph, action="ca_state", id=policy_id, state="disabled")
        assert client.get(url).json()["state"] == "disabled"
        act(client, fakegraph, action="ca_exclude", id=policy_id, principal=uid)
        act(client, fakegraph, action="ca_exclude", id=policy_id, principal=gid)
        users = client.get(url).json()["conditions"]["users"]
        assert uid in users["excludeUsers"] and gid in users["excludeGroups"]
        act(client, fakegraph, action="ca_unexclude", id=policy_id, principal=uid)
        users = client.get(url).json()["conditions"]["users"]
        assert uid not in users["excludeUsers"] and gid in users["excludeGroups"]
        bad = client.post(
            f"{fakegraph.url}/_fakegraph/mutate",
            json={"action": "ca_state", "id": policy_id, "state": "sometimes"},
        )
        assert bad.status_code == 400


def test_members_and_deletes(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    gid = store.sets["groups"].ids()[0]
    newcomer = next(u for u in store.sets["users"].ids() if u not in store.linked("groups/members", gid))
    with fakegraph.client() as client:
        _, link = delta_round(client, "/v1.0/groups/delta")
        summary = act(client, fakegraph, action="add_member", group=gid, member=newcomer)
        assert summary["changes"] == [
            {"set": "groups", "id": gid, "kind": "linked", "link": "members", "target": newcomer}
        ]
        members = client.get(f"/v1.0/groups/{gid}/members", params={"$top": "999"}).json()["value"]
        assert newcomer in {m["id"] for m in members}
        changed, link = delta_round(client, link)
        assert changed[0]["members@delta"] == [{"@odata.type": "#microsoft.graph.user", "id": newcomer}]
        act(client, fakegraph, action="remove_member", group=gid, member=newcomer)
        members = client.get(f"/v1.0/groups/{gid}/members", params={"$top": "999"}).json()["value"]
        assert newcomer not in {m["id"] for m in members}

        # Soft delete: listed in deletedItems, delta says "changed"; hard delete: gone, delta says "deleted".
        soft, hard = store.sets["groups"].ids()[5:7]
        act(client, fakegraph, action="delete", id=soft)
        act(client, fakegraph, action="delete", id=hard, permanent=True)
        assert client.get(f"/v1.0/groups/{soft}").status_code == 404
        assert client.get(f"/v1.0/directory/deletedItems/{soft}").status_code == 200
        assert client.get(f"/v1.0/directory/deletedItems/{hard}").status_code == 404
        changed, _ = delta_round(client, link)
        removed = {g["id"]: g["@removed"]["reason"] for g in changed if "@removed" in g}
        assert removed == {soft: "changed", hard: "deleted"}


def test_application_password_and_pim_eligibility(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    app_id = store.sets["applications"].ids()[0]
    uid = store.sets["users"].ids()[9]
    with fakegraph.client() as client:
        before = len(client.get(f"/v1.0/applications/{app_id}").json()["passwordCredentials"])
        summary = act(client, fakegraph, action="add_password", id=app_id, displayName="Nightly export")
        key_id = summary["result"]["keyId"]
        creds = client.get(f"/v1.0/applications/{app_id}").json()["passwordCredentials"]
        assert len(creds) == before + 1
        added = next(c for c in creds if c["keyId"] == key_id)
        assert added["displayName"] == "Nightly export" and added["secretText"] is None
        if "roleManagement/directory/roleEligibilitySchedules" not in store.sets:
            pytest.skip("tenant has no PIM eligibility schedules")
        summary = act(client, fakegraph, action="add_pim_eligibility", principal=uid)
        schedule_id = summary["result"]["id"]
        listed = client.get(
            "/v1.0/roleManagement/directory/roleEligibilitySchedules",
            params={"$filter": f"principalId eq '{uid}'"},
        ).json()["value"]
        assert schedule_id in {s["id"] for s in listed}
        instances = client.get(
            "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
            params={"$filter": f"principalId eq '{uid}'"},
        ).json()["value"]
        assert schedule_id in {i["roleEligibilityScheduleId"] for i in instances}


def test_churn_is_deterministic_and_visible_in_delta(fakegraph: RunningFakeGraph) -> None:
    first, second = generate(seed=1), generate(seed=1)
    one = mutate.apply(first, {"action": "churn", "percent": 10, "seed": 7})["changes"]
    two = mutate.apply(second, {"action": "churn", "percent": 10, "seed": 7})["changes"]
    assert one == two
    assert len({(c["set"], c["id"]) for c in one}) >= 0.05 * (
        len(first.sets["users"]) + len(first.sets["groups"])
    )
    kinds = {c["kind"] for c in one}
    assert {"upserted", "linked", "deleted"} <= kinds
    touched_sets = {c["set"] for c in one}
    assert {"users", "groups", "applications", "servicePrincipals", CA} <= touched_sets
    assert first.sets["users"].ids() == second.sets["users"].ids()
    other = mutate.apply(generate(seed=1), {"action": "churn", "percent": 10, "seed": 8})["changes"]
    assert other != one

    with fakegraph.client() as client:
        _, link = delta_round(client, "/v1.0/users/delta")
        summary = act(client, fakegraph, action="churn", percent=10, seed=3)
        changed_users = {c["id"] for c in summary["changes"] if c["set"] == "users" and "link" not in c}
        seen, _ = delta_round(client, link)
        assert {u["id"] for u in seen} == changed_users


def test_cli_spellings_of_actions(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    policy_id = store.sets[CA].ids()[1]
    uid = store.sets["users"].ids()[2]
    with fakegraph.client() as client:
        act(client, fakegraph, action="disable-ca", id=policy_id)
        assert store.sets[CA].objects[policy_id]["state"] == "disabled"
        act(client, fakegraph, action="report-only-ca", id=policy_id)
        assert store.sets[CA].objects[policy_id]["state"] == "enabledForReportingButNotEnforced"
        act(client, fakegraph, action="add-exclusion", id=policy_id, user=uid)
        assert uid in store.sets[CA].objects[policy_id]["conditions"]["users"]["excludeUsers"]
        summary = act(client, fakegraph, action="hard-delete", id=uid)
        assert summary["changes"][-1] == {"set": "users", "id": uid, "kind": "purged"}
        assert uid not in store.recycle and uid not in store.directory


def test_unknown_action_and_object(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client() as client:
        for payload in (
            {"action": "explode"},
            {"action": "rename", "id": "nope"},
            {"id": "x"},
            {"action": "churn", "percent": "lots"},
        ):
            assert client.post(f"{fakegraph.url}/_fakegraph/mutate", json=payload).status_code == 400
