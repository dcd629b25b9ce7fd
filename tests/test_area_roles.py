"""The roles area over HTTP: directory roles, unified RBAC, PIM for roles and groups, role management policies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from entrasnap.fakegraph.resource import P1
from entrasnap.fakegraph.service import RunningFakeGraph

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
RD = "/v1.0/roleManagement/directory"
PIM_GROUP = "/v1.0/identityGovernance/privilegedAccess/group"


def values(client: httpx.Client, url: str, **params: str) -> list[dict[str, Any]]:
    """Every item of a collection, following nextLinks."""
    out: list[dict[str, Any]] = []
    response = client.get(url, params=params or None)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        out += body["value"]
        if "@odata.nextLink" not in body:
            return out
        response = client.get(body["@odata.nextLink"])


def pim_group_ids(fakegraph: RunningFakeGraph) -> list[str]:
    return sorted(
        {
            o["groupId"]
            for o in fakegraph.store.sets[
                "identityGovernance/privilegedAccess/group/eligibilitySchedules"
            ].objects.values()
        }
    )


def test_directory_roles_members_and_scoped_members(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    roles = values(client, "/v1.0/directoryRoles")
    assert {"id", "displayName", "description", "roleTemplateId"} <= set(roles[0])
    by_template = {r["roleTemplateId"]: r for r in roles}
    assert GLOBAL_ADMIN in by_template
    admins = values(client, f"/v1.0/directoryRoles/{by_template[GLOBAL_ADMIN]['id']}/members")
    assert admins and all(m["@odata.type"] == "#microsoft.graph.user" for m in admins)
    # Members of a role are the principals of its tenant-wide assignments.
    assigned = {
        a["principalId"]
        for a in values(
            client, f"{RD}/roleAssignments", **{"$filter": f"roleDefinitionId eq '{GLOBAL_ADMIN}'"}
        )
        if a["directoryScopeId"] == "/"
    }
    assert {m["id"] for m in admins} == assigned
    # Addressing the role by its template id.
    by_key = client.get(f"/v1.0/directoryRoles/roleTemplateId={GLOBAL_ADMIN}")
    assert by_key.status_code == 200 and by_key.json()["id"] == by_template[GLOBAL_ADMIN]["id"]
    # Every member of every role exists; groups among them are role-assignable.
    for role in roles:
        for member in values(client, f"/v1.0/directoryRoles/{role['id']}/members"):
            found = fakegraph.store.resolve(member["id"])
            assert found is not None
            if found[0] == "groups":
                assert found[1]["isAssignableToRole"] is True
    # Scoped members are a view of scopedRoleMemberships for that role.
    scoped = fakegraph.store.sets.get("scopedRoleMemberships")
    if scoped is not None and len(scoped):
        membership = next(iter(scoped.objects.values()))
        listed = values(client, f"/v1.0/directoryRoles/{membership['roleId']}/scopedMembers")
        assert membership["id"] in {m["id"] for m in listed}
        assert all(m["roleId"] == membership["roleId"] for m in listed)
        assert fakegraph.store.resolve(membership["administrativeUnitId"]) is not None
        assert fakegraph.store.resolve(membership["roleMemberInfo"]["id"]) is not None


def test_role_definitions_built_in_and_custom(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    definitions = values(client, f"{RD}/roleDefinitions")
    built_in = [d for d in definitions if d["isBuiltIn"]]
    custom = [d for d in definitions if not d["isBuiltIn"]]
    assert built_in and custom
    ga = next(d for d in built_in if d["id"] == GLOBAL_ADMIN)
    assert ga["templateId"] == GLOBAL_ADMIN and ga["rolePermissions"][0]["allowedResourceActions"]
    # Built-ins cannot be deleted; custom roles can be created and deleted.
    assert client.delete(f"{RD}/roleDefinitions/{GLOBAL_ADMIN}").status_code == 400
    created = client.post(
        f"{RD}/roleDefinitions",
        json={
            "displayName": "App Support",
            "isEnabled": True,
            "rolePermissions": [
                {"allowedResourceActions": ["microsoft.directory/applications/basic/update"]}
            ],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["isBuiltIn"] is False and body["templateId"] == body["id"]
    assert client.delete(f"{RD}/roleDefinitions/{body['id']}").status_code == 204


def test_role_assignments_expand_and_integrity(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    store = fakegraph.store
    assignments = values(client, f"{RD}/roleAssignments", **{"$expand": "principal"})
    assert assignments
    definitions = store.sets["roleManagement/directory/roleDefinitions"]
    for assignment in assignments:
        assert assignment["principal"]["id"] == assignment["principalId"]
        assert assignment["principal"]["@odata.type"] in {
            "#microsoft.graph.user",
            "#microsoft.graph.group",
            "#microsoft.graph.servicePrincipal",
        }
        assert assignment["roleDefinitionId"] in definitions
        scope = assignment["directoryScopeId"]
        assert scope == "/" or (
            scope.startswith("/administrativeUnits/") and store.resolve(scope.rsplit("/", 1)[-1]) is not None
        )
    one = client.get(f"{RD}/roleAssignments/{assignments[0]['id']}", params={"$expand": "roleDefinition"})
    assert one.status_code == 200
    assert one.json()["roleDefinition"]["id"] == assignments[0]["roleDefinitionId"]
    filtered = values(client, f"{RD}/roleAssignments", **{"$filter": f"roleDefinitionId eq '{GLOBAL_ADMIN}'"})
    assert filtered and all(a["roleDefinitionId"] == GLOBAL_ADMIN for a in filtered)
    assert len(filtered) < len(assignments)


def test_pim_schedules_and_instances_are_consistent(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    store = fakegraph.store
    eligibility = values(client, f"{RD}/roleEligibilitySchedules")
    instances = values(
        client, f"{RD}/roleEligibilityScheduleInstances", **{"$expand": "principal,roleDefinition"}
    )
    assert eligibility
    assert {i["roleEligibilityScheduleId"] for i in instances} == {s["id"] for s in eligibility}
    for instance in instances:
        assert instance["principal"]["id"] == instance["principalId"]
        assert instance["roleDefinition"]["id"] == instance["roleDefinitionId"]
    schedules = values(client, f"{RD}/roleAssignmentSchedules")
    active = values(client, f"{RD}/roleAssignmentScheduleInstances")
    assignments = {a["id"] for a in values(client, f"{RD}/roleAssignments")}
    assert {i["roleAssignmentScheduleId"] for i in active} == {s["id"] for s in schedules}
    assert {i["roleAssignmentOriginId"] for i in active} == assignments
    for item in eligibility + schedules:
        assert store.resolve(item["principalId"]) is not None
        assert item["roleDefinitionId"] in store.sets["roleManagement/directory/roleDefinitions"]


def test_pim_without_p2_answers_licensing_error(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(licenses={P1})
    client = fake.client()
    for path in (
        "roleEligibilitySchedules",
        "roleAssignmentScheduleInstances",
        "roleEligibilityScheduleRequests",
    ):
        response = client.get(f"{RD}/{path}")
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "AadPremiumLicenseRequired"
    gid = pim_group_ids(fake)[0]
    response = client.get(f"{PIM_GROUP}/eligibilitySchedules", params={"$filter": f"groupId eq '{gid}'"})
    assert response.json()["error"]["code"] == "AadPremiumLicenseRequired"
    # Unified RBAC itself needs no P2.
    assert client.get(f"{RD}/roleAssignments").status_code == 200


def test_eligibility_request_creates_schedule_and_instance(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    store = fakegraph.store
    eligible = {
        (s["principalId"], s["roleDefinitionId"]) for s in values(client, f"{RD}/roleEligibilitySchedules")
    }
    principal = next(u for u in store.sets["users"].ids() if (u, GLOBAL_ADMIN) not in eligible)
    body = {
        "action": "adminAssign",
        "justification": "Break-glass rotation",
        "roleDefinitionId": GLOBAL_ADMIN,
        "directoryScopeId": "/",
        "principalId": principal,
        "scheduleInfo": {
            "startDateTime": "2022-04-10T00:00:00Z",
            "expiration": {"type": "afterDateTime", "endDateTime": "2030-04-10T00:00:00Z"},
        },
    }
    response = client.post(f"{RD}/roleEligibilityScheduleRequests", json=body)
    assert response.status_code == 201, response.text
    request = response.json()
    assert request["status"] == "Provisioned" and request["targetScheduleId"] == request["id"]
    assert request["scheduleInfo"]["expiration"]["endDateTime"] == "2030-04-10T00:00:00Z"
    schedule = client.get(f"{RD}/roleEligibilitySchedules/{request['targetScheduleId']}")
    assert schedule.status_code == 200 and schedule.json()["principalId"] == principal
    instances = values(
        client,
        f"{RD}/roleEligibilityScheduleInstances",
        **{"$filter": f"principalId eq '{principal}' and roleDefinitionId eq '{GLOBAL_ADMIN}'"},
    )
    assert [i["roleEligibilityScheduleId"] for i in instances] == [request["id"]]
    # The same eligibility again is refused; removing it revokes the schedule.
    assert client.post(f"{RD}/roleEligibilityScheduleRequests", json=body).status_code == 400
    removed = client.post(
        f"{RD}/roleEligibilityScheduleRequests",
        json={
            "action": "adminRemove",
            "roleDefinitionId": GLOBAL_ADMIN,
            "directoryScopeId": "/",
            "principalId": principal,
        },
    )
    assert removed.status_code == 201 and removed.json()["status"] == "Revoked"
    assert client.get(f"{RD}/roleEligibilitySchedules/{request['id']}").status_code == 404
    # An unknown principal is refused.
    body["principalId"] = "00000000-0000-0000-0000-000000000001"
    assert client.post(f"{RD}/roleEligibilityScheduleRequests", json=body).status_code == 400


def test_assignment_request_creates_role_assignment_and_membership(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    store = fakegraph.store
    role = next(r for r in values(client, "/v1.0/directoryRoles") if r["roleTemplateId"] == GLOBAL_ADMIN)
    members = {m["id"] for m in values(client, f"/v1.0/directoryRoles/{role['id']}/members")}
    principal = next(u for u in store.sets["users"].ids() if u not in members)
    response = client.post(
        f"{RD}/roleAssignmentScheduleRequests",
        json={
            "action": "adminAssign",
            "roleDefinitionId": GLOBAL_ADMIN,
            "directoryScopeId": "/",
            "principalId": principal,
            "scheduleInfo": {"expiration": {"type": "noExpiration"}},
        },
    )
    assert response.status_code == 201, response.text
    assigned = values(client, f"{RD}/roleAssignments", **{"$filter": f"principalId eq '{principal}'"})
    assert [a["roleDefinitionId"] for a in assigned] == [GLOBAL_ADMIN]
    assert principal in {m["id"] for m in values(client, f"/v1.0/directoryRoles/{role['id']}/members")}


def test_role_management_policies_require_and_apply_filter(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    url = "/v1.0/policies/roleManagementPolicies"
    missing = client.get(url)
    assert missing.status_code == 400
    half = client.get(url, params={"$filter": "scopeId eq '/'"})
    assert half.status_code == 400
    directory = values(client, url, **{"$filter": "scopeId eq '/' and scopeType eq 'DirectoryRole'"})
    alias = values(client, url, **{"$filter": "scopeId eq '/' and scopeType eq 'Directory'"})
    definitions = values(client, f"{RD}/roleDefinitions")
    assert len(directory) == len(definitions) == len(alias)
    assert all(p["scopeId"] == "/" and p["id"].startswith("DirectoryRole_") for p in directory)
    gid = pim_group_ids(fakegraph)[0]
    group = values(
        client, url, **{"$filter": f"scopeId eq '{gid}' and scopeType eq 'Group'", "$expand": "rules"}
    )
    assert len(group) == 2 and all(p["scopeId"] == gid and p["id"].startswith(f"Group_{gid}_") for p in group)
    rules = group[0]["rules"]
    assert len(rules) == 17
    assert {r["@odata.type"] for r in rules} == {
        f"#microsoft.graph.unifiedRoleManagementPolicy{k}Rule"
        for k in ("Expiration", "Enablement", "Notification", "Approval", "AuthenticationContext")
    }
    # Rules are a contained set that can be patched.
    rule_url = f"{url}/{directory[0]['id']}/rules/Expiration_EndUser_Assignment"
    patched = client.patch(
        rule_url,
        json={
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "maximumDuration": "PT4H",
        },
    )
    assert patched.status_code == 204
    assert client.get(rule_url).json()["maximumDuration"] == "PT4H"
    assert len(values(client, f"{url}/{directory[0]['id']}/rules")) == 17


def test_policy_assignments_filter_and_expand(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    url = "/v1.0/policies/roleManagementPolicyAssignments"
    assert client.get(url).status_code == 400
    found = values(
        client,
        url,
        **{
            "$filter": f"scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{GLOBAL_ADMIN}'",
            "$expand": "policy($expand=rules)",
        },
    )
    assert len(found) == 1
    assert found[0]["policy"]["id"] == found[0]["policyId"] and len(found[0]["policy"]["rules"]) == 17
    gid = pim_group_ids(fakegraph)[0]
    group = values(client, url, **{"$filter": f"scopeId eq '{gid}' and scopeType eq 'Group'"})
    assert sorted(a["roleDefinitionId"] for a in group) == ["member", "owner"]
    policies = fakegraph.store.sets["policies/roleManagementPolicies"]
    assert all(a["policyId"] in policies for a in group)


def test_pim_for_groups(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    store = fakegraph.store
    for path in (
        "eligibilitySchedules",
        "assignmentSchedules",
        "eligibilityScheduleInstances",
        "assignmentScheduleInstances",
    ):
        assert client.get(f"{PIM_GROUP}/{path}").status_code == 400, path
    everything: list[dict[str, Any]] = []
    for gid in pim_group_ids(fakegraph):
        for path in (
            "eligibilitySchedules",
            "assignmentSchedules",
            "eligibilityScheduleInstances",
            "assignmentScheduleInstances",
        ):
            items = values(client, f"{PIM_GROUP}/{path}", **{"$filter": f"groupId eq '{gid}'"})
            assert all(i["groupId"] == gid for i in items)
            everything += items
    assert everything
    for item in everything:
        assert item["accessId"] in {"member", "owner"}
        assert store.resolve(item["principalId"]) is not None and item["groupId"] in store.sets["groups"]
    sample = everything[0]
    assert all(i["id"].startswith(f"{i['groupId']}_{i['accessId']}_") for i in everything)
    by_principal = values(
        client,
        f"{PIM_GROUP}/eligibilitySchedules",
        **{"$filter": f"principalId eq '{sample['principalId']}'", "$expand": "principal,group"},
    )
    for item in by_principal:
        assert item["principalId"] == sample["principalId"]
        assert item["principal"]["id"] == item["principalId"] and item["group"]["id"] == item["groupId"]


def test_other_rbac_providers(fakegraph: RunningFakeGraph) -> None:
    client = fakegraph.client()
    for version in ("v1.0", "beta"):
        definitions = values(client, f"/{version}/roleManagement/entitlementManagement/roleDefinitions")
        assignments = values(client, f"/{version}/roleManagement/entitlementManagement/roleAssignments")
        assert definitions and assignments
        assert {a["roleDefinitionId"] for a in assignments} <= {d["id"] for d in definitions}
    for provider in ("deviceManagement", "exchange"):
        assert client.get(f"/v1.0/roleManagement/{provider}/roleDefinitions").status_code == 400
        definitions = values(client, f"/beta/roleManagement/{provider}/roleDefinitions")
        assignments = values(client, f"/beta/roleManagement/{provider}/roleAssignments")
        assert definitions and assignments
        assert {a["roleDefinitionId"] for a in assignments} <= {d["id"] for d in definitions}
    multiple = values(client, "/beta/roleManagement/deviceManagement/roleAssignments")
    for assignment in multiple:
        assert all(fakegraph.store.resolve(p) is not None for p in assignment["principalIds"])


def test_permissions(fakegraph: RunningFakeGraph) -> None:
    reader = fakegraph.client(roles=["RoleManagement.Read.Directory"])
    assert reader.get(f"{RD}/roleAssignments").status_code == 200
    assert reader.get("/v1.0/directoryRoles").status_code == 200
    denied = reader.post(f"{RD}/roleDefinitions", json={"displayName": "x", "rolePermissions": []})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
    users_only = fakegraph.client(roles=["User.Read.All"])
    for url in (
        f"{RD}/roleDefinitions",
        "/v1.0/directoryRoles",
        f"{RD}/roleEligibilitySchedules",
        "/v1.0/policies/roleManagementPolicies?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'",
        "/v1.0/roleManagement/entitlementManagement/roleDefinitions",
    ):
        assert users_only.get(url).status_code == 403, url
    eligibility_reader = fakegraph.client(roles=["RoleEligibilitySchedule.Read.Directory"])
    assert eligibility_reader.get(f"{RD}/roleEligibilitySchedules").status_code == 200
    assert eligibility_reader.get(f"{RD}/roleAssignmentSchedules").status_code == 403
    gid = pim_group_ids(fakegraph)[0]
    group_reader = fakegraph.client(roles=["PrivilegedEligibilitySchedule.Read.AzureADGroup"])
    query = {"$filter": f"groupId eq '{gid}'"}
    assert group_reader.get(f"{PIM_GROUP}/eligibilitySchedules", params=query).status_code == 200
    assert group_reader.get(f"{PIM_GROUP}/assignmentSchedules", params=query).status_code == 403


def test_shapes_match_schema(fakegraph: RunningFakeGraph) -> None:
    schemacheck = pytest.importorskip("schemacheck")
    client = fakegraph.client()
    gid = pim_group_ids(fakegraph)[0]
    directory = {"$filter": "scopeId eq '/' and scopeType eq 'DirectoryRole'"}
    checks: list[tuple[str, str, dict[str, str], str]] = [
        ("/v1.0/directoryRoles", "directoryRole", {}, "v1.0"),
        (f"{RD}/roleDefinitions", "unifiedRoleDefinition", {}, "v1.0"),
        (f"{RD}/roleAssignments", "unifiedRoleAssignment", {"$expand": "principal"}, "v1.0"),
        (f"{RD}/roleEligibilitySchedules", "unifiedRoleEligibilitySchedule", {}, "v1.0"),
        (f"{RD}/roleEligibilityScheduleInstances", "unifiedRoleEligibilityScheduleInstance", {}, "v1.0"),
        (f"{RD}/roleAssignmentSchedules", "unifiedRoleAssignmentSchedule", {}, "v1.0"),
        (f"{RD}/roleAssignmentScheduleInstances", "unifiedRoleAssignmentScheduleInstance", {}, "v1.0"),
        (f"{RD}/roleEligibilityScheduleRequests", "unifiedRoleEligibilityScheduleRequest", {}, "v1.0"),
        (
            "/v1.0/policies/roleManagementPolicies",
            "unifiedRoleManagementPolicy",
            {**directory, "$expand": "rules"},
            "v1.0",
        ),
        (
            "/v1.0/policies/roleManagementPolicyAssignments",
            "unifiedRoleManagementPolicyAssignment",
            {**directory, "$expand": "policy($expand=rules)"},
            "v1.0",
        ),
        (
            f"{PIM_GROUP}/eligibilitySchedules",
            "privilegedAccessGroupEligibilitySchedule",
            {"$filter": f"groupId eq '{gid}'"},
            "v1.0",
        ),
        (
            f"{PIM_GROUP}/assignmentScheduleInstances",
            "privilegedAccessGroupAssignmentScheduleInstance",
            {"$filter": f"groupId eq '{gid}'"},
            "v1.0",
        ),
        ("/v1.0/roleManagement/entitlementManagement/roleAssignments", "unifiedRoleAssignment", {}, "v1.0"),
        ("/beta/roleManagement/deviceManagement/roleDefinitions", "unifiedRoleDefinition", {}, "beta"),
        (
            "/beta/roleManagement/deviceManagement/roleAssignments",
            "unifiedRoleAssignmentMultiple",
            {},
            "beta",
        ),
        ("/beta/roleManagement/exchange/roleAssignments", "unifiedRoleAssignment", {}, "beta"),
    ]
    problems: list[str] = []
    for url, type_name, params, version in checks:
        for obj in values(client, url, **params)[:50]:
            problems += [f"{url}: {p}" for p in schemacheck.violations(type_name, obj, version)]
    scoped = fakegraph.store.sets.get("scopedRoleMemberships")
    for obj in scoped.objects.values() if scoped else []:
        problems += schemacheck.violations("scopedRoleMembership", obj)
    assert not problems, "\n".join(problems[:30])
