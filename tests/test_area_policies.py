"""The /policies area over HTTP: singletons, collections, writes, permissions and referential integrity."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from entrasnap.fakegraph.areas import policies, users
from entrasnap.fakegraph.context import SIZES, Context
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.fakegraph.state import Store
from schemacheck import violations

SINGLETONS = [
    "/policies/authenticationMethodsPolicy",
    "/policies/authorizationPolicy",
    "/policies/identitySecurityDefaultsEnforcementPolicy",
    "/policies/crossTenantAccessPolicy",
    "/policies/crossTenantAccessPolicy/default",
    "/policies/adminConsentRequestPolicy",
    "/policies/defaultAppManagementPolicy",
    "/policies/deviceRegistrationPolicy",
    "/policies/authenticationFlowsPolicy",
]
COLLECTIONS = [
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
    "/policies/crossTenantAccessPolicy/partners",
    "/policies/activityBasedTimeoutPolicies",
    "/policies/homeRealmDiscoveryPolicies",
    "/policies/claimsMappingPolicies",
    "/policies/tokenIssuancePolicies",
    "/policies/tokenLifetimePolicies",
    "/policies/featureRolloutPolicies",
    "/policies/permissionGrantPolicies",
    "/policies/appManagementPolicies",
]
# Collections the apps area assigns to applications and service principals: at least two of each.
ASSIGNABLE = [
    "/policies/tokenIssuancePolicies",
    "/policies/tokenLifetimePolicies",
    "/policies/claimsMappingPolicies",
    "/policies/homeRealmDiscoveryPolicies",
    "/policies/appManagementPolicies",
]
METHOD_IDS = {
    "fido2",
    "microsoftauthenticator",
    "sms",
    "temporaryaccesspass",
    "email",
    "x509certificate",
    "softwareoath",
    "voice",
}


def policy_tenant(seed: int = 1, size: str = "S") -> Store:
    """Users, groups and policies only, generated as the tenant generator does: the areas this one needs,
    so that these tests do not depend on the areas generated after it."""
    store = Store(
        tenant_id="8a5f3b21-6c4d-4e2f-9a1b-3c5d7e9f1a2b",
        domain=f"contoso{seed}.onmicrosoft.com",
        size=size,
        seed=seed,
    )
    for area in (users, policies):
        name = area.__name__.rsplit(".", 1)[-1]
        area.populate(store, Context(SIZES[size], seed, name, store.tenant_id, store.domain))
    return store


@pytest.fixture
def fakegraph(fakegraph_factory: Any) -> RunningFakeGraph:
    running: RunningFakeGraph = fakegraph_factory(store=policy_tenant())
    return running


@pytest.fixture
def graph(fakegraph: RunningFakeGraph) -> httpx.Client:
    return fakegraph.client()


def get(client: httpx.Client, path: str, version: str = "v1.0", **params: str) -> Any:
    response = client.get(f"/{version}{path}", params=params)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.json()


@pytest.mark.parametrize("path", SINGLETONS)
def test_singletons_are_objects(graph: httpx.Client, path: str) -> None:
    body = get(graph, path)
    assert "value" not in body
    assert body["@odata.context"].startswith("http")
    assert len([k for k in body if not k.startswith("@")]) >= 3


@pytest.mark.parametrize("path", COLLECTIONS)
def test_collections_come_whole_in_one_page(graph: httpx.Client, path: str) -> None:
    body = get(graph, path)
    assert isinstance(body["value"], list) and len(body["value"]) >= 2
    assert "@odata.nextLink" not in body
    key = "tenantId" if path.endswith("/partners") else "id"
    first = body["value"][0][key]
    item = get(graph, f"{path}/{first}")
    assert item[key] == first


@pytest.mark.parametrize("path", ASSIGNABLE)
def test_assignable_policies_are_directory_objects(
    fakegraph: RunningFakeGraph, graph: httpx.Client, path: str
) -> None:
    values = get(graph, path)["value"]
    assert len(values) >= 2
    for policy in values:
        assert policy["deletedDateTime"] is None
        assert fakegraph.store.resolve(policy["id"]) is not None


def test_security_defaults_off_because_conditional_access_is_used(graph: httpx.Client) -> None:
    body = get(graph, "/policies/identitySecurityDefaultsEnforcementPolicy")
    assert body["id"] == "00000000-0000-0000-0000-000000000005"
    assert body["isEnabled"] is False


def test_authorization_policy_is_a_singleton_with_default_user_role_permissions(graph: httpx.Client) -> None:
    body = get(graph, "/policies/authorizationPolicy")
    assert body["id"] == "authorizationPolicy"
    permissions = body["defaultUserRolePermissions"]
    assert permissions["allowedToCreateTenants"] is False
    grant_ids = {p["id"] for p in get(graph, "/policies/permissionGrantPolicies")["value"]}
    for assigned in permissions["permissionGrantPoliciesAssigned"]:
        assert assigned.split(".", 1)[1] in grant_ids


def test_authentication_methods_policy_inlines_its_configurations(graph: httpx.Client) -> None:
    body = get(graph, "/policies/authenticationMethodsPolicy")
    configs = body["authenticationMethodConfigurations"]
    assert {c["id"].lower() for c in configs} == METHOD_IDS
    for config in configs:
        name = config["id"][0].lower() + config["id"][1:]
        assert config["@odata.type"] == f"#microsoft.graph.{name}AuthenticationMethodConfiguration"
        assert config["state"] in {"enabled", "disabled"}
    # Per-method URLs use lower camel case ids; Graph answers with its own capitalisation.
    fido2 = get(graph, "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2")
    assert fido2["@odata.type"] == "#microsoft.graph.fido2AuthenticationMethodConfiguration"
    assert fido2["id"] == "Fido2"


def test_patch_singleton_then_get_shows_it(graph: httpx.Client) -> None:
    response = graph.patch("/v1.0/policies/authorizationPolicy", json={"allowInvitesFrom": "none"})
    assert response.status_code == 204, response.text
    assert get(graph, "/policies/authorizationPolicy")["allowInvitesFrom"] == "none"
    response = graph.patch(
        "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", json={"isEnabled": True}
    )
    assert response.status_code == 204
    assert get(graph, "/policies/identitySecurityDefaultsEnforcementPolicy")["isEnabled"] is True


def test_patch_method_configuration_shows_in_inlined_policy(graph: httpx.Client) -> None:
    url = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/voice"
    body = {"@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration", "state": "enabled"}
    assert graph.patch(url, json=body).status_code == 204
    configs = get(graph, "/policies/authenticationMethodsPolicy")["authenticationMethodConfigurations"]
    voice = next(c for c in configs if c["id"].lower() == "voice")
    assert voice["state"] == "enabled"
    assert voice["@odata.type"] == "#microsoft.graph.voiceAuthenticationMethodConfiguration"


def test_admin_consent_request_policy_is_replaced_with_put(graph: httpx.Client) -> None:
    url = "/v1.0/policies/adminConsentRequestPolicy"
    assert graph.patch(url, json={"isEnabled": False}).status_code == 405
    current = get(graph, "/policies/adminConsentRequestPolicy")
    replacement = {k: v for k, v in current.items() if not k.startswith("@")} | {"isEnabled": False}
    assert graph.put(url, json=replacement).status_code == 204
    assert get(graph, "/policies/adminConsentRequestPolicy")["isEnabled"] is False


def test_partners_are_keyed_by_tenant_id_with_identity_synchronization(graph: httpx.Client) -> None:
    partners = get(graph, "/policies/crossTenantAccessPolicy/partners")["value"]
    assert len(partners) >= 3
    assert all("tenantId" in p and "id" not in p for p in partners)
    synced = [p["tenantId"] for p in partners if p.get("isInMultiTenantOrganization")]
    assert synced
    sync = get(graph, f"/policies/crossTenantAccessPolicy/partners/{synced[0]}/identitySynchronization")
    assert sync["tenantId"] == synced[0] and sync["userSyncInbound"]["isSyncAllowed"] is True

    new_tenant = "6e3b1f0a-8c2d-4c55-9b9e-0d1c2e3f4a5b"
    base = "/v1.0/policies/crossTenantAccessPolicy/partners"
    created = graph.post(base, json={"tenantId": new_tenant, "inboundTrust": {"isMfaAccepted": True}})
    assert created.status_code == 201, created.text
    assert created.json()["tenantId"] == new_tenant
    assert graph.get(f"{base}/{new_tenant}/identitySynchronization").status_code == 404
    put = graph.put(
        f"{base}/{new_tenant}/identitySynchronization",
        json={"displayName": "Contoso Europe", "userSyncInbound": {"isSyncAllowed": True}},
    )
    assert put.status_code == 204, put.text
    sync = get(graph, f"/policies/crossTenantAccessPolicy/partners/{new_tenant}/identitySynchronization")
    assert sync == sync | {
        "tenantId": new_tenant,
        "displayName": "Contoso Europe",
        "userSyncInbound": {"isSyncAllowed": True},
    }
    patched = graph.patch(f"{base}/{new_tenant}", json={"isServiceProvider": True})
    assert patched.status_code == 204
    assert get(graph, f"/policies/crossTenantAccessPolicy/partners/{new_tenant}")["isServiceProvider"] is True
    assert graph.delete(f"{base}/{new_tenant}").status_code == 204
    assert graph.get(f"{base}/{new_tenant}").status_code == 404
    assert graph.get(f"{base}/{new_tenant}/identitySynchronization").status_code == 404
    unknown = graph.put(
        f"{base}/00000000-1111-2222-3333-444444444444/identitySynchronization",
        json={"userSyncInbound": {"isSyncAllowed": True}},
    )
    assert unknown.status_code == 404


def test_permission_denied_without_policy_read(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client(roles=["User.Read.All", "Group.Read.All"]) as denied:
        for path in [
            "/policies/authorizationPolicy",
            "/policies/crossTenantAccessPolicy/partners",
            "/policies/tokenLifetimePolicies",
            "/policies/authenticationMethodsPolicy",
        ]:
            response = denied.get(f"/v1.0{path}")
            assert response.status_code == 403, path
            assert response.json()["error"]["code"] == "Authorization_RequestDenied"
    with fakegraph.client(roles=["Policy.Read.All"]) as reader:
        assert reader.get("/v1.0/policies/authorizationPolicy").status_code == 200
        assert reader.get("/v1.0/policies/tokenLifetimePolicies").status_code == 200
        # Reading is not writing.
        assert (
            reader.patch("/v1.0/policies/authorizationPolicy", json={"allowedToUseSSPR": False}).status_code
            == 403
        )
        # Permission grant policies have their own permission (Policy.Read.PermissionGrant).
        assert reader.get("/v1.0/policies/permissionGrantPolicies").status_code == 403
    with fakegraph.client(roles=["Policy.Read.PermissionGrant"]) as grants:
        assert grants.get("/v1.0/policies/permissionGrantPolicies").status_code == 200


def test_sts_policy_writes(fakegraph: RunningFakeGraph, graph: httpx.Client) -> None:
    base = "/v1.0/policies/tokenLifetimePolicies"
    definition = ['{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"5:30:00"}}']
    created = graph.post(
        base, json={"definition": definition, "displayName": "Test lifetime", "isOrganizationDefault": False}
    )
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["definition"] == definition and policy["deletedDateTime"] is None
    assert fakegraph.store.resolve(policy["id"]) is not None
    assert graph.post(base, json={"definition": ["not json"], "displayName": "x"}).status_code == 400
    assert graph.patch(f"{base}/{policy['id']}", json={"displayName": "Renamed"}).status_code == 204
    assert get(graph, f"/policies/tokenLifetimePolicies/{policy['id']}")["displayName"] == "Renamed"
    assert graph.delete(f"{base}/{policy['id']}").status_code == 204
    assert graph.get(f"{base}/{policy['id']}").status_code == 404
    assert fakegraph.store.resolve(policy["id"]) is None


def test_permission_grant_policies_with_includes_and_excludes(graph: httpx.Client) -> None:
    policies = {p["id"]: p for p in get(graph, "/policies/permissionGrantPolicies")["value"]}
    assert "microsoft-all-application-permissions" in policies and "tier-1" in policies
    assert all(isinstance(p["includes"], list) and isinstance(p["excludes"], list) for p in policies.values())
    includes = get(graph, "/policies/permissionGrantPolicies/microsoft-company-admin/includes")["value"]
    assert {c["permissionType"] for c in includes} == {"application", "delegated"}

    base = "/v1.0/policies/permissionGrantPolicies"
    created = graph.post(base, json={"id": "my-custom-policy", "displayName": "Custom", "description": "d"})
    assert created.status_code == 201, created.text
    added = graph.post(
        f"{base}/my-custom-policy/includes",
        json={"permissionType": "delegated", "permissionClassification": "low"},
    )
    assert added.status_code == 201, added.text
    condition = added.json()
    assert condition["clientApplicationIds"] == ["all"]
    policy = get(graph, "/policies/permissionGrantPolicies/my-custom-policy")
    assert [c["id"] for c in policy["includes"]] == [condition["id"]] and policy["excludes"] == []
    assert graph.delete(f"{base}/my-custom-policy/includes/{condition['id']}").status_code == 204
    assert (
        graph.post(f"{base}/no-such-policy/includes", json={"permissionType": "delegated"}).status_code == 404
    )
    assert graph.delete(f"{base}/microsoft-company-admin").status_code >= 400
    assert graph.delete(f"{base}/my-custom-policy").status_code == 204
    assert graph.get(f"{base}/my-custom-policy").status_code == 404


def test_feature_rollout_applies_to_groups(fakegraph: RunningFakeGraph, graph: httpx.Client) -> None:
    policies = get(graph, "/policies/featureRolloutPolicies", **{"$expand": "appliesTo"})["value"]
    assert len(policies) >= 2
    for policy in policies:
        assert policy["appliesTo"]
        assert all(t["@odata.type"] == "#microsoft.graph.group" for t in policy["appliesTo"])
    first = policies[0]["id"]
    members = get(graph, f"/policies/featureRolloutPolicies/{first}/appliesTo")["value"]
    assert {m["id"] for m in members} == {t["id"] for t in policies[0]["appliesTo"]}
    extra = next(g for g in fakegraph.store.sets["groups"].ids() if g not in {m["id"] for m in members})
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{extra}"}
    assert (
        graph.post(f"/v1.0/policies/featureRolloutPolicies/{first}/appliesTo/$ref", json=ref).status_code
        == 204
    )
    after = get(graph, f"/policies/featureRolloutPolicies/{first}/appliesTo")["value"]
    assert extra in {m["id"] for m in after}


def test_external_identities_policy_is_beta_only(graph: httpx.Client) -> None:
    assert graph.get("/v1.0/policies/externalIdentitiesPolicy").status_code == 400
    body = get(graph, "/policies/externalIdentitiesPolicy", version="beta")
    assert body["allowExternalIdentitiesToLeave"] is True


def test_every_referenced_user_and_group_exists(fakegraph: RunningFakeGraph, graph: httpx.Client) -> None:
    users = set(fakegraph.store.sets["users"].ids())
    groups = set(fakegraph.store.sets["groups"].ids())
    group_refs: list[str] = []
    user_refs: list[str] = []

    methods = get(graph, "/policies/authenticationMethodsPolicy")
    campaign = methods["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"]
    group_refs += [t["id"] for t in campaign["includeTargets"] + campaign["excludeTargets"]]
    for config in methods["authenticationMethodConfigurations"]:
        group_refs += [t["id"] for t in config["includeTargets"] + config.get("excludeTargets", [])]
        for feature in (config.get("featureSettings") or {}).values():
            group_refs += [feature["includeTarget"]["id"], feature["excludeTarget"]["id"]]

    consent = get(graph, "/policies/adminConsentRequestPolicy")
    assert consent["reviewers"]
    for reviewer in consent["reviewers"]:
        parts = reviewer["query"].strip("/").split("/")
        (user_refs if parts[0] == "users" else group_refs).append(parts[1])

    device = get(graph, "/policies/deviceRegistrationPolicy")
    join = device["azureADJoin"]
    user_refs += join["allowedToJoin"]["users"] + join["localAdmins"]["registeringUsers"]["users"]
    group_refs += join["allowedToJoin"]["groups"] + join["localAdmins"]["registeringUsers"]["groups"]

    for partner in get(graph, "/policies/crossTenantAccessPolicy/partners")["value"]:
        outbound = partner.get("b2bCollaborationOutbound") or {}
        for target in (outbound.get("usersAndGroups") or {}).get("targets", []):
            if target["targetType"] == "group":
                group_refs.append(target["target"])
            elif target["targetType"] == "user" and target["target"] != "AllUsers":
                user_refs.append(target["target"])

    group_refs = [g for g in group_refs if g != "all_users"]
    assert group_refs and user_refs
    assert set(group_refs) <= groups, set(group_refs) - groups
    assert set(user_refs) <= users, set(user_refs) - users


def test_served_policies_conform_to_the_schema(graph: httpx.Client) -> None:
    singletons = {path: path.rsplit("/", 1)[-1] for path in SINGLETONS}
    types = {
        "authenticationMethodsPolicy": "authenticationMethodsPolicy",
        "authorizationPolicy": "authorizationPolicy",
        "identitySecurityDefaultsEnforcementPolicy": "identitySecurityDefaultsEnforcementPolicy",
        "crossTenantAccessPolicy": "crossTenantAccessPolicy",
        "default": "crossTenantAccessPolicyConfigurationDefault",
        "adminConsentRequestPolicy": "adminConsentRequestPolicy",
        "defaultAppManagementPolicy": "tenantAppManagementPolicy",
        "deviceRegistrationPolicy": "deviceRegistrationPolicy",
        "authenticationFlowsPolicy": "authenticationFlowsPolicy",
    }
    found: list[str] = []
    for path, name in singletons.items():
        found += [f"{path}: {v}" for v in violations("microsoft.graph." + types[name], get(graph, path))]
    element = {
        "authenticationMethodConfigurations": "authenticationMethodConfiguration",
        "partners": "crossTenantAccessPolicyConfigurationPartner",
        "activityBasedTimeoutPolicies": "activityBasedTimeoutPolicy",
        "homeRealmDiscoveryPolicies": "homeRealmDiscoveryPolicy",
        "claimsMappingPolicies": "claimsMappingPolicy",
        "tokenIssuancePolicies": "tokenIssuancePolicy",
        "tokenLifetimePolicies": "tokenLifetimePolicy",
        "featureRolloutPolicies": "featureRolloutPolicy",
        "permissionGrantPolicies": "permissionGrantPolicy",
        "appManagementPolicies": "appManagementPolicy",
    }
    for path in COLLECTIONS:
        for obj in get(graph, path)["value"]:
            type_name = obj.get("@odata.type", "#microsoft.graph." + element[path.rsplit("/", 1)[-1]])[1:]
            found += [f"{path}: {v}" for v in violations(type_name, obj)]
    beta = get(graph, "/policies/externalIdentitiesPolicy", version="beta")
    found += violations("microsoft.graph.externalIdentitiesPolicy", beta, "beta")
    assert found == []


def test_generation_is_deterministic() -> None:
    first = policy_tenant(seed=7)
    second = policy_tenant(seed=7)
    keys = [k for k in first.singletons if k.startswith("policies/")]
    assert keys and all(first.singletons[k] == second.singletons[k] for k in keys)
    assert (
        first.sets["policies/tokenLifetimePolicies"].ids()
        == second.sets["policies/tokenLifetimePolicies"].ids()
    )
