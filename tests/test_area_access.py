"""Conditional Access endpoints of fakegraph, over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from entrasnap.fakegraph.resource import P1
from entrasnap.fakegraph.service import RunningFakeGraph

Factory = Callable[..., RunningFakeGraph]
CA = "/v1.0/identity/conditionalAccess"
BETA_CA = "/beta/identity/conditionalAccess"
BUILT_IN = (
    "00000000-0000-0000-0000-000000000002",
    "00000000-0000-0000-0000-000000000003",
    "00000000-0000-0000-0000-000000000004",
)


@pytest.fixture
def tenant(fakegraph_factory: Factory) -> RunningFakeGraph:
    """A tenant without throttling, so that tests may call the paced CA endpoints back to back."""
    return fakegraph_factory(throttling=False)


def _types(shared: Path, version: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for kind in ("entity", "complex"):
        data = json.loads((shared / "graph-schema" / f"{version}-{kind}-types.json").read_text())
        for name, info in data["microsoft.graph"].items():
            out[name] = set(info["properties"]) | set(info["navigationProperties"])
    return out


def _check_policy_shape(policy: dict[str, Any], types: dict[str, set[str]]) -> None:
    def keys(obj: dict[str, Any]) -> set[str]:
        return {k for k in obj if "@" not in k}

    assert keys(policy) <= types["conditionalAccessPolicy"] | types["policyDeletableItem"], policy[
        "displayName"
    ]
    cond = policy["conditions"]
    assert keys(cond) <= types["conditionalAccessConditionSet"]
    assert keys(cond["users"]) <= types["conditionalAccessUsers"]
    assert keys(cond["applications"]) <= types["conditionalAccessApplications"]
    if policy["grantControls"]:
        assert keys(policy["grantControls"]) <= types["conditionalAccessGrantControls"]
        strength = policy["grantControls"]["authenticationStrength"]
        if strength:
            assert keys(strength) <= types["authenticationStrengthPolicy"] | {"id"}
    if policy["sessionControls"]:
        assert keys(policy["sessionControls"]) <= types["conditionalAccessSessionControls"]


def test_policies_v1_and_beta_differ_as_documented(tenant: RunningFakeGraph, shared_dir: Path) -> None:
    with tenant.client() as client:
        v1 = client.get(f"{CA}/policies")
        beta = client.get(f"{BETA_CA}/policies")
    assert v1.status_code == beta.status_code == 200
    v1_policies, beta_policies = v1.json()["value"], beta.json()["value"]
    assert len(v1_policies) == len(beta_policies) == 15  # plan S
    assert "@odata.nextLink" not in v1.json()
    v1_types, beta_types = _types(shared_dir, "v1.0"), _types(shared_dir, "beta")
    for policy in v1_policies:
        _check_policy_shape(policy, v1_types)
        assert "templateId" in policy
        assert "deviceStates" not in policy["conditions"]
        assert "networkAccess" not in policy["conditions"]["applications"]
    for policy in beta_policies:
        _check_policy_shape(policy, beta_types)
        assert "templateId" not in policy
        assert "deviceStates" in policy["conditions"]
    caep = [
        p
        for p in beta_policies
        if p["sessionControls"] and p["sessionControls"]["continuousAccessEvaluation"]
    ]
    assert caep and caep[0]["sessionControls"]["continuousAccessEvaluation"] == {"mode": "strictEnforcement"}
    same = next(p for p in v1_policies if p["id"] == caep[0]["id"])
    assert "continuousAccessEvaluation" not in same["sessionControls"]
    # The stored object still holds both: stripping happens only in the response.
    stored = tenant.store.sets["identity/conditionalAccess/policies"].get(same["id"])
    assert stored is not None and "continuousAccessEvaluation" in stored["sessionControls"]


def test_policies_are_realistic(tenant: RunningFakeGraph) -> None:
    with tenant.client() as client:
        policies = client.get(f"{CA}/policies").json()["value"]
    states = {p["state"] for p in policies}
    assert states == {"enabled", "disabled", "enabledForReportingButNotEnforced"}
    by_name = {p["displayName"].split(":")[0]: p for p in policies}
    admins = by_name["CA001"]["conditions"]["users"]
    assert "62e90394-69f5-4237-9190-012177145e10" in admins["includeRoles"]  # Global Administrator template
    assert by_name["CA002"]["grantControls"]["builtInControls"] == ["block"]
    assert by_name["CA002"]["conditions"]["clientAppTypes"] == ["exchangeActiveSync", "other"]
    assert by_name["CA005"]["conditions"]["signInRiskLevels"] == ["high", "medium"]
    guests = by_name["CA007"]["conditions"]["users"]["includeGuestsOrExternalUsers"]
    assert guests["externalTenants"]["@odata.type"] == "#microsoft.graph.conditionalAccessAllExternalTenants"
    strength = by_name["CA010"]["grantControls"]["authenticationStrength"]
    assert strength["id"] == "00000000-0000-0000-0000-000000000004"
    assert strength["displayName"] == "Phishing resistant MFA"
    assert by_name["CA012"]["conditions"]["applications"]["includeAuthenticationContextClassReferences"] == [
        "c2"
    ]
    # Break-glass accounts are excluded from every policy.
    excluded = [set(p["conditions"]["users"]["excludeUsers"]) for p in policies]
    common = set.intersection(*excluded)
    assert len(common) == 2


def test_every_referenced_id_exists(tenant: RunningFakeGraph) -> None:
    store = tenant.store
    with tenant.client() as client:
        policies = client.get(f"{CA}/policies").json()["value"]
        locations = {o["id"] for o in client.get(f"{CA}/namedLocations").json()["value"]}
        contexts = {o["id"] for o in client.get(f"{CA}/authenticationContextClassReferences").json()["value"]}
        strengths = {
            o["id"] for o in client.get("/v1.0/policies/authenticationStrengthPolicies").json()["value"]
        }
    app_ids = (
        {o["appId"] for o in store.sets["servicePrincipals"].after()}
        if "servicePrincipals" in store.sets
        else set()
    )
    templates = store.sets.get("directoryRoleTemplates")
    seen_locations = 0
    for policy in policies:
        users = policy["conditions"]["users"]
        for uid in users["includeUsers"] + users["excludeUsers"]:
            assert uid in {"All", "None", "GuestsOrExternalUsers"} or store.sets["users"].get(uid), uid
        for gid in users["includeGroups"] + users["excludeGroups"]:
            assert store.sets["groups"].get(gid), gid
        for rid in users["includeRoles"] + users["excludeRoles"]:
            assert len(rid) == 36
            if templates is not None and len(templates):
                assert rid in templates, rid
        apps = policy["conditions"]["applications"]
        for app in apps["includeApplications"] + apps["excludeApplications"]:
            assert app in {"All", "None", "Office365", "MicrosoftAdminPortals"} or app in app_ids, app
        for ctx in apps["includeAuthenticationContextClassReferences"]:
            assert ctx in contexts
        if policy["conditions"]["locations"]:
            for loc in (
                policy["conditions"]["locations"]["includeLocations"]
                + policy["conditions"]["locations"]["excludeLocations"]
            ):
                assert loc in {"All", "AllTrusted"} or loc in locations, loc
                seen_locations += loc in locations
        grant = policy["grantControls"]
        if grant and grant["authenticationStrength"]:
            assert grant["authenticationStrength"]["id"] in strengths
    assert seen_locations >= 1


def test_pacing_one_request_per_second_without_retry_after(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(time_scale=0.3)
    with fake.client() as client:
        assert client.get(f"{CA}/namedLocations").status_code == 200
        throttled = client.get(f"{CA}/policies")
        assert throttled.status_code == 429
        assert "Retry-After" not in throttled.headers
        assert throttled.json()["error"]["code"] == "TooManyRequests"
        # Other Graph endpoints are not paced.
        assert client.get("/v1.0/users", params={"$top": "1"}).status_code == 200
        time.sleep(0.35)
        assert client.get(f"{CA}/policies").status_code == 200


def test_unlicensed_tenant(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(licenses=set(), throttling=False)
    with fake.client() as client:
        response = client.get(f"{CA}/policies")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
        assert client.get(f"{CA}/namedLocations").status_code == 403


def test_p1_tenant_cannot_create_risk_policies(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(licenses={P1}, throttling=False)
    body: dict[str, Any] = {
        "displayName": "Risky",
        "state": "enabled",
        "conditions": {
            "users": {"includeUsers": ["All"]},
            "applications": {"includeApplications": ["All"]},
            "signInRiskLevels": ["high"],
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }
    with fake.client() as client:
        assert client.get(f"{CA}/policies").status_code == 200
        response = client.post(f"{CA}/policies", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["message"].startswith("1039:")
        body["conditions"].pop("signInRiskLevels")
        assert client.post(f"{CA}/policies", json=body).status_code == 201


def test_create_update_delete_restore_policy(tenant: RunningFakeGraph) -> None:
    body: dict[str, Any] = {
        "displayName": "Require phishing-resistant MFA for finance",
        "state": "enabledForReportingButNotEnforced",
        "conditions": {
            "clientAppTypes": ["all"],
            "users": {"includeGroups": [tenant.store.sets["groups"].ids()[0]]},
            "applications": {"includeApplications": ["Office365"]},
        },
        "grantControls": {"operator": "OR", "authenticationStrength": {"id": BUILT_IN[2]}},
    }
    with tenant.client() as client:
        created = client.post(f"{CA}/policies", json=body)
        assert created.status_code == 201, created.text
        policy = created.json()
        pid = policy["id"]
        assert policy["grantControls"]["authenticationStrength"]["displayName"] == "Phishing resistant MFA"
        assert policy["conditions"]["users"]["excludeUsers"] == []
        assert policy["modifiedDateTime"] is None and policy["createdDateTime"]
        assert client.patch(f"{CA}/policies/{pid}", json={"state": "enabled"}).status_code == 204
        updated = client.get(f"{CA}/policies/{pid}").json()
        assert updated["state"] == "enabled" and updated["modifiedDateTime"]
        bad = client.patch(f"{CA}/policies/{pid}", json={"state": "sometimes"})
        assert bad.status_code == 400
        assert (
            client.get(f"{CA}/policies/{pid}").json()["state"] == "enabled"
        )  # unchanged by the failed update

        assert client.delete(f"{CA}/policies/{pid}").status_code == 204
        assert client.get(f"{CA}/policies/{pid}").status_code == 404
        deleted = client.get(f"{BETA_CA}/deletedItems/policies").json()["value"]
        mine = [d for d in deleted if d["id"] == pid]
        assert len(mine) == 1 and mine[0]["deletedDateTime"]
        assert len(deleted) == 3  # two generated deleted policies plus this one
        assert client.get(f"{CA}/deletedItems/policies/{pid}").status_code == 200

        restored = client.post(f"{CA}/deletedItems/policies/{pid}/restore")
        assert restored.status_code == 200
        assert restored.json()["id"] == pid and "deletedDateTime" not in restored.json()
        assert client.get(f"{CA}/policies/{pid}").json()["state"] == "enabled"
        assert client.get(f"{CA}/deletedItems/policies/{pid}").status_code == 404

        # Permanent deletion from the deleted items.
        other = deleted[0]["id"] if deleted[0]["id"] != pid else deleted[1]["id"]
        assert client.delete(f"{CA}/deletedItems/policies/{other}").status_code == 204
        assert client.post(f"{CA}/deletedItems/policies/{other}/restore").status_code == 404


def test_permissions(tenant: RunningFakeGraph) -> None:
    with tenant.client(roles=["Policy.Read.All"]) as reader:
        assert reader.get(f"{CA}/policies").status_code == 200
        denied = reader.post(
            f"{CA}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.countryNamedLocation",
                "displayName": "x",
                "countriesAndRegions": [],
            },
        )
        assert denied.status_code == 403
        assert reader.get(f"{CA}/authenticationContextClassReferences").status_code == 403
    with tenant.client(roles=["User.Read.All"]) as other:
        assert other.get(f"{CA}/policies").status_code == 403
    with tenant.client(roles=["Policy.ReadWrite.ConditionalAccess"]) as writer:
        policy_id = tenant.store.sets["identity/conditionalAccess/policies"].ids()[0]
        assert writer.patch(f"{CA}/policies/{policy_id}", json={"state": "disabled"}).status_code == 204


def test_named_locations(tenant: RunningFakeGraph) -> None:
    with tenant.client() as client:
        listing = client.get(f"{CA}/namedLocations").json()["value"]
        kinds = {o["@odata.type"] for o in listing}
        assert kinds == {"#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation"}
        ip = next(o for o in listing if o["@odata.type"] == "#microsoft.graph.ipNamedLocation")
        assert ip["ipRanges"][0]["@odata.type"] in {
            "#microsoft.graph.iPv4CidrRange",
            "#microsoft.graph.iPv6CidrRange",
        }
        only_ip = client.get(f"{CA}/namedLocations", params={"$filter": "isTrusted eq true"}).json()["value"]
        assert only_ip and all(o["isTrusted"] for o in only_ip)

        missing_type = client.post(
            f"{CA}/namedLocations", json={"displayName": "No type", "isTrusted": True, "ipRanges": []}
        )
        assert missing_type.status_code == 400
        created = client.post(
            f"{CA}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Lab",
                "isTrusted": False,
                "ipRanges": [
                    {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "12.34.221.11/22"}
                ],
            },
        )
        assert created.status_code == 201
        lid = created.json()["id"]
        assert created.json()["modifiedDateTime"] == created.json()["createdDateTime"]
        assert client.patch(f"{CA}/namedLocations/{lid}", json={"isTrusted": True}).status_code == 400
        ok = client.patch(
            f"{CA}/namedLocations/{lid}",
            json={"@odata.type": "#microsoft.graph.ipNamedLocation", "isTrusted": True},
        )
        assert ok.status_code == 204
        assert client.get(f"{CA}/namedLocations/{lid}").json()["isTrusted"] is True

        assert client.delete(f"{CA}/namedLocations/{lid}").status_code == 204
        deleted = client.get(f"{CA}/deletedItems/namedLocations").json()["value"]
        assert {lid} < {o["id"] for o in deleted}
        assert client.post(f"{CA}/deletedItems/namedLocations/{lid}/restore").status_code == 200
        assert client.get(f"{CA}/namedLocations/{lid}").status_code == 200


def test_authentication_strengths(tenant: RunningFakeGraph) -> None:
    with tenant.client() as client:
        documented = client.get("/v1.0/policies/authenticationStrengthPolicies").json()["value"]
        alias = client.get(f"{CA}/authenticationStrength/policies").json()["value"]
        assert [o["id"] for o in documented] == [o["id"] for o in alias]
        built_in = [o for o in documented if o["policyType"] == "builtIn"]
        assert tuple(o["id"] for o in built_in) == BUILT_IN
        assert all(o["combinationConfigurations"] == [] for o in built_in)
        custom = [o for o in documented if o["policyType"] == "custom"]
        configured = [o for o in custom if o["combinationConfigurations"]]
        assert configured
        config = configured[0]["combinationConfigurations"][0]
        assert config["@odata.type"] in {
            "#microsoft.graph.fido2CombinationConfiguration",
            "#microsoft.graph.x509CertificateCombinationConfiguration",
        }
        nested = client.get(
            f"/v1.0/policies/authenticationStrengthPolicies/{configured[0]['id']}/combinationConfigurations"
        ).json()["value"]
        assert nested[0]["id"] == config["id"]

        assert (
            client.delete(f"/v1.0/policies/authenticationStrengthPolicies/{BUILT_IN[0]}").status_code == 400
        )
        assert (
            client.patch(
                f"/v1.0/policies/authenticationStrengthPolicies/{BUILT_IN[0]}", json={"displayName": "Mine"}
            ).status_code
            == 400
        )
        created = client.post(
            "/v1.0/policies/authenticationStrengthPolicies",
            json={"displayName": "Only FIDO2", "allowedCombinations": ["fido2"]},
        )
        assert created.status_code == 201
        assert created.json()["policyType"] == "custom"
        new_id = created.json()["id"]
        assert client.delete(f"/v1.0/policies/authenticationStrengthPolicies/{new_id}").status_code == 204
        # A strength in use by a policy cannot go.
        in_use = next(
            o["id"]
            for o in custom
            if o["displayName"] in {"FIDO2 keys approved by IT", "Certificate-based MFA"}
        )
        users = {
            p["grantControls"]["authenticationStrength"]["id"]
            for p in client.get(f"{CA}/policies").json()["value"]
            if p["grantControls"] and p["grantControls"]["authenticationStrength"]
        }
        if in_use in users:
            assert client.delete(f"/v1.0/policies/authenticationStrengthPolicies/{in_use}").status_code == 400


def test_authentication_contexts(tenant: RunningFakeGraph) -> None:
    with tenant.client() as client:
        listing = client.get(f"{CA}/authenticationContextClassReferences").json()["value"]
        assert [o["id"] for o in listing] == ["c1", "c2", "c3", "c4", "c5"]
        assert set(listing[0]) == {"id", "displayName", "description", "isAvailable"}
        upsert = client.patch(
            f"{CA}/authenticationContextClassReferences/c9",
            json={"displayName": "New context", "isAvailable": True},
        )
        assert upsert.status_code == 204
        assert (
            client.get(f"{CA}/authenticationContextClassReferences/c9").json()["displayName"] == "New context"
        )
        assert client.patch(f"{CA}/authenticationContextClassReferences/x1", json={}).status_code == 400
        assert client.post(f"{CA}/authenticationContextClassReferences", json={"id": "c7"}).status_code == 405
