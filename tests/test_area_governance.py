"""Identity governance endpoints of fakegraph, over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from entrasnap.fakegraph.resource import P1, P2
from entrasnap.fakegraph.service import RunningFakeGraph

Factory = Callable[..., RunningFakeGraph]
EM = "/v1.0/identityGovernance/entitlementManagement"
IG = "/v1.0/identityGovernance"


@pytest.fixture
def tenant(fakegraph_factory: Factory) -> RunningFakeGraph:
    return fakegraph_factory(throttling=False)


def test_entitlement_management_objects_and_relations(tenant: RunningFakeGraph) -> None:
    with tenant.client(roles=["EntitlementManagement.Read.All"]) as client:
        catalogs = client.get(f"{EM}/catalogs").json()["value"]
        assert catalogs[0].keys() >= {"id", "displayName", "catalogType", "state", "isExternallyVisible"}
        assert {c["catalogType"] for c in catalogs} == {"serviceDefault", "userManaged"}
        packages = client.get(f"{EM}/accessPackages").json()["value"]
        assert packages and all("catalogId" not in p for p in packages)  # internal relation never shown
        catalog_ids = {c["id"] for c in catalogs}
        expanded = client.get(
            f"{EM}/accessPackages/{packages[0]['id']}", params={"$expand": "catalog"}
        ).json()
        assert expanded["catalog"]["id"] in catalog_ids and "catalogId" not in expanded
        in_catalog = client.get(f"{EM}/catalogs/{expanded['catalog']['id']}/accessPackages").json()["value"]
        assert packages[0]["id"] in {p["id"] for p in in_catalog}

        policies = client.get(f"{EM}/assignmentPolicies").json()["value"]
        assert len(policies) == len(packages)
        for policy in policies:
            assert "accessPackageId" not in policy
            for target in policy["specificAllowedTargets"]:
                assert tenant.store.sets["groups"].get(target["groupId"]) is not None
            for stage in (policy["requestApprovalSettings"] or {}).get("stages", []):
                for approver in stage["primaryApprovers"]:
                    assert tenant.store.sets["users"].get(approver["userId"]) is not None
        per_package = client.get(f"{EM}/accessPackages/{packages[0]['id']}/assignmentPolicies").json()[
            "value"
        ]
        assert len(per_package) == 1

        orgs = client.get(f"{EM}/connectedOrganizations").json()["value"]
        assert {s["@odata.type"] for o in orgs for s in o["identitySources"]} == {
            "#microsoft.graph.azureActiveDirectoryTenant",
            "#microsoft.graph.domainIdentitySource",
        }
        sponsors = client.get(f"{EM}/connectedOrganizations/{orgs[0]['id']}/internalSponsors").json()["value"]
        assert sponsors and all(s["@odata.type"] == "#microsoft.graph.user" for s in sponsors)
        assert all(tenant.store.sets["users"].get(s["id"]) for s in sponsors)
        settings = client.get(f"{EM}/settings").json()
        assert settings["durationUntilExternalUserDeletedAfterBlocked"] == "P30D"
        assert client.post(f"{EM}/catalogs", json={"displayName": "x"}).status_code == 403


def test_entitlement_management_writes_keep_integrity(tenant: RunningFakeGraph) -> None:
    with tenant.client() as client:
        assert client.post(f"{EM}/accessPackages", json={"displayName": "Orphan"}).status_code == 400
        catalog = client.post(f"{EM}/catalogs", json={"displayName": "Finance"}).json()
        package = client.post(
            f"{EM}/accessPackages", json={"displayName": "Ledger", "catalog": {"id": catalog["id"]}}
        )
        assert package.status_code == 201
        assert client.delete(f"{EM}/catalogs/{catalog['id']}").status_code == 400  # not empty
        policy = client.post(
            f"{EM}/assignmentPolicies",
            json={
                "displayName": "Self-service",
                "accessPackage": {"id": package.json()["id"]},
                "allowedTargetScope": "allMemberUsers",
            },
        )
        assert policy.status_code == 201 and "accessPackageId" not in policy.json()
        assert client.delete(f"{EM}/accessPackages/{package.json()['id']}").status_code == 400
        assert client.delete(f"{EM}/assignmentPolicies/{policy.json()['id']}").status_code == 204
        assert client.delete(f"{EM}/accessPackages/{package.json()['id']}").status_code == 204
        assert client.delete(f"{EM}/catalogs/{catalog['id']}").status_code == 204
        general = next(
            c for c in client.get(f"{EM}/catalogs").json()["value"] if c["catalogType"] == "serviceDefault"
        )
        assert client.delete(f"{EM}/catalogs/{general['id']}").status_code == 400
        user = tenant.store.sets["users"].ids()[5]
        org = client.get(f"{EM}/connectedOrganizations").json()["value"][0]["id"]
        ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{user}"}
        assert (
            client.post(f"{EM}/connectedOrganizations/{org}/externalSponsors/$ref", json=ref).status_code
            == 204
        )
        missing = {"@odata.id": "https://graph.microsoft.com/v1.0/users/00000000-0000-0000-0000-00000000dead"}
        assert (
            client.post(f"{EM}/connectedOrganizations/{org}/externalSponsors/$ref", json=missing).status_code
            == 404
        )


def test_access_reviews(tenant: RunningFakeGraph) -> None:
    with tenant.client(roles=["AccessReview.Read.All"]) as client:
        definitions = client.get(f"{IG}/accessReviews/definitions").json()["value"]
        assert definitions
        for definition in definitions:
            group_id = definition["scope"]["query"].split("/")[2]
            assert tenant.store.sets["groups"].get(group_id) is not None
            for reviewer in definition["reviewers"]:
                assert tenant.store.sets["users"].get(reviewer["query"].split("/")[2]) is not None
            assert (
                definition["settings"]["applyActions"][0]["@odata.type"]
                == "#microsoft.graph.removeAccessApplyAction"
            )
            instances = client.get(f"{IG}/accessReviews/definitions/{definition['id']}/instances").json()[
                "value"
            ]
            assert len(instances) == 2 and instances[0]["scope"] == definition["scope"]
        assert client.get(f"{EM}/catalogs").status_code == 403


def test_terms_of_use_and_lifecycle_workflows(tenant: RunningFakeGraph) -> None:
    with tenant.client(roles=["Agreement.Read.All", "LifecycleWorkflows.Read.All"]) as client:
        agreements = client.get(f"{IG}/termsOfUse/agreements")
        assert agreements.json()["@odata.context"].endswith("$metadata#agreements")
        assert {a["displayName"] for a in agreements.json()["value"]} >= {"All users terms of use"}
        workflows = client.get(f"{IG}/lifecycleWorkflows/workflows").json()["value"]
        assert {w["category"] for w in workflows} == {"joiner", "leaver"}
        trigger = workflows[0]["executionConditions"]["trigger"]
        assert trigger["@odata.type"] == "#microsoft.graph.identityGovernance.timeBasedAttributeTrigger"
        tasks = client.get(f"{IG}/lifecycleWorkflows/workflows/{workflows[0]['id']}/tasks").json()["value"]
        assert tasks and all(len(t["taskDefinitionId"]) == 36 for t in tasks)
        expanded = client.get(
            f"{IG}/lifecycleWorkflows/workflows/{workflows[0]['id']}", params={"$expand": "tasks"}
        )
        assert len(expanded.json()["tasks"]) == len(tasks)


def test_licences(fakegraph_factory: Factory) -> None:
    p2 = fakegraph_factory(licenses={P2}, throttling=False)
    with p2.client() as client:
        assert client.get(f"{EM}/catalogs").status_code == 200
        assert (
            client.get(f"{IG}/lifecycleWorkflows/workflows").status_code == 403
        )  # needs Entra ID Governance
    p1 = fakegraph_factory(licenses={P1}, throttling=False)
    with p1.client() as client:
        assert client.get(f"{EM}/catalogs").status_code == 400  # P2 feature
        assert client.get(f"{IG}/termsOfUse/agreements").status_code == 200
