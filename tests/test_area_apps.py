"""fakegraph's applications area over HTTP: apps, service principals, assignments, grants and their children."""

from __future__ import annotations

from typing import Any

import httpx

from entrasnap.fakegraph.areas.apps import DEFAULT_ROLE, GRAPH_APP_ID
from entrasnap.fakegraph.service import RunningFakeGraph

V1 = "/v1.0"
READER = ["Application.Read.All"]


def all_pages(client: httpx.Client, url: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        out += body["value"]
        if "@odata.nextLink" not in body:
            return out
        response = client.get(body["@odata.nextLink"])


def graph_sp(fakegraph: RunningFakeGraph) -> dict[str, Any]:
    sps = fakegraph.store.sets["servicePrincipals"].objects.values()
    return next(sp for sp in sps if sp["appId"] == GRAPH_APP_ID)


def test_applications_list_paging_and_item(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    with fakegraph.client(READER) as client:
        apps = all_pages(client, f"{V1}/applications", **{"$top": "7"})
        assert len(apps) == len(store.sets["applications"]) > 7
        assert len({a["id"] for a in apps}) == len(apps)
        first = client.get(f"{V1}/applications", params={"$top": "7"})
        assert "$skiptoken" in first.json()["@odata.nextLink"]
        assert first.headers["x-ms-resource-unit"] == "1"  # cost 2, minus 1 for $top < 20
        assert client.get(f"{V1}/applications").headers["x-ms-resource-unit"] == "2"
        app = apps[0]
        item = client.get(f"{V1}/applications/{app['id']}")
        assert item.status_code == 200
        body = item.json()
        assert body["@odata.context"].endswith("$metadata#applications/$entity")
        assert body["appId"] == app["appId"]
        for prop in (
            "api",
            "web",
            "spa",
            "publicClient",
            "requiredResourceAccess",
            "passwordCredentials",
            "keyCredentials",
            "signInAudience",
            "publisherDomain",
            "tags",
            "identifierUris",
        ):
            assert prop in body
    audiences = {a["signInAudience"] for a in store.sets["applications"].objects.values()}
    assert len(audiences) >= 2


def test_application_credentials_are_realistic(fakegraph: RunningFakeGraph) -> None:
    apps = list(fakegraph.store.sets["applications"].objects.values())
    secrets = [p for a in apps for p in a["passwordCredentials"]]
    certs = [k for a in apps for k in a["keyCredentials"]]
    assert secrets and certs
    assert all(p["secretText"] is None and len(p["hint"]) == 3 and p["keyId"] for p in secrets)
    assert all(c["type"] == "AsymmetricX509Cert" and c["usage"] == "Verify" and "key" not in c for c in certs)
    assert all(len(c["customKeyIdentifier"]) == 40 for c in certs)
    graph = graph_sp(fakegraph)
    graph_ids = {r["id"] for r in graph["appRoles"]} | {s["id"] for s in graph["oauth2PermissionScopes"]}
    for app in apps:
        for access in app["requiredResourceAccess"]:
            assert access["resourceAppId"] == GRAPH_APP_ID
            assert {e["id"] for e in access["resourceAccess"]} <= graph_ids


def test_application_children(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    with fakegraph.client(READER) as client:
        owned = next(a for a in store.sets["applications"].ids() if store.linked("applications/owners", a))
        owners = client.get(f"{V1}/applications/{owned}/owners").json()["value"]
        assert {o["id"] for o in owners} == set(store.linked("applications/owners", owned))
        assert all(
            o["@odata.type"] in {"#microsoft.graph.user", "#microsoft.graph.servicePrincipal"} for o in owners
        )
        app = store.sets["applications"].ids()[0]
        for nav in (
            "extensionProperties",
            "federatedIdentityCredentials",
            "tokenIssuancePolicies",
            "tokenLifetimePolicies",
            "appManagementPolicies",
        ):
            response = client.get(f"{V1}/applications/{app}/{nav}")
            assert response.status_code == 200, (nav, response.text)
            assert isinstance(response.json()["value"], list)
        assert client.get(f"{V1}/applications/{app}/notANavigation").status_code == 400


def test_extension_properties_and_federated_credentials(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    with fakegraph.client(READER) as client, fakegraph.client(["Application.ReadWrite.All"]) as writer:
        app = store.sets["applications"].objects[store.sets["applications"].ids()[1]]
        created = writer.post(
            f"{V1}/applications/{app['id']}/extensionProperties",
            json={"name": "badgeNumber", "dataType": "String", "targetObjects": ["User"]},
        )
        assert created.status_code == 201, created.text
        assert created.json()["name"] == f"extension_{app['appId'].replace('-', '')}_badgeNumber"
        assert "createdDateTime" not in created.json()
        listed = client.get(f"{V1}/applications/{app['id']}/extensionProperties").json()["value"]
        assert created.json()["id"] in {e["id"] for e in listed}
        fic = writer.post(
            f"{V1}/applications/{app['id']}/federatedIdentityCredentials",
            json={
                "name": "gha",
                "issuer": "https://token.actions.githubusercontent.com",
                "subject": "repo:contoso/app:ref:refs/heads/main",
                "audiences": ["api://AzureADTokenExchange"],
            },
        )
        assert fic.status_code == 201, fic.text
        got = client.get(f"{V1}/applications/{app['id']}/federatedIdentityCredentials/{fic.json()['id']}")
        assert got.json()["subject"] == "repo:contoso/app:ref:refs/heads/main"
    fics = [
        o
        for k, s in store.sets.items()
        if k.endswith("/federatedIdentityCredentials")
        for o in s.objects.values()
    ]
    issuers = {f["issuer"].split("/")[2] for f in fics}
    assert "token.actions.githubusercontent.com" in issuers
    assert all(f["audiences"] == ["api://AzureADTokenExchange"] for f in fics)


def test_service_principals(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    sps = list(store.sets["servicePrincipals"].objects.values())
    apps = list(store.sets["applications"].objects.values())
    by_app = {sp["appId"]: sp for sp in sps}
    for app in apps:  # one SP per application, named like it
        assert by_app[app["appId"]]["appDisplayName"] == app["displayName"]
    assert len(sps) == fakegraph.fake.store.sets["servicePrincipals"].__len__()
    assert {"Application", "ManagedIdentity"} <= {sp["servicePrincipalType"] for sp in sps}
    for app_id in (
        "00000002-0000-0ff1-ce00-000000000000",
        "00000003-0000-0ff1-ce00-000000000000",
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    ):
        assert app_id in by_app
    graph = graph_sp(fakegraph)
    role_ids = {r["id"]: r["value"] for r in graph["appRoles"]}
    assert role_ids["df021288-bdef-4463-88db-98f22de89214"] == "User.Read.All"
    assert role_ids["9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"] == "Application.Read.All"
    assert {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "value": "User.Read"}.items() <= next(
        s for s in graph["oauth2PermissionScopes"] if s["value"] == "User.Read"
    ).items()
    with fakegraph.client(READER) as client:
        listed = all_pages(client, f"{V1}/servicePrincipals", **{"$top": "25"})
        assert len(listed) == len(sps)
        got = client.get(f"{V1}/servicePrincipals/{graph['id']}", params={"$select": "appId,displayName"})
        assert got.json()["appId"] == GRAPH_APP_ID and "appRoles" not in got.json()
        for nav in (
            "owners",
            "claimsMappingPolicies",
            "homeRealmDiscoveryPolicies",
            "tokenIssuancePolicies",
            "tokenLifetimePolicies",
            "delegatedPermissionClassifications",
        ):
            response = client.get(f"{V1}/servicePrincipals/{graph['id']}/{nav}")
            assert response.status_code == 200, (nav, response.text)
        classes = client.get(f"{V1}/servicePrincipals/{graph['id']}/delegatedPermissionClassifications")
        assert "User.Read" in {c["permissionName"] for c in classes.json()["value"]}


def test_assignment_views(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    graph = graph_sp(fakegraph)
    assignments = list(store.sets["appRoleAssignments"].objects.values())
    with fakegraph.client(READER) as client:
        granted = all_pages(
            client, f"{V1}/servicePrincipals/{graph['id']}/appRoleAssignedTo", **{"$top": "5"}
        )
        expected = {a["id"] for a in assignments if a["resourceId"] == graph["id"]}
        assert expected and {a["id"] for a in granted} == expected
        assert all(a["principalType"] == "ServicePrincipal" for a in granted)
        client_sp = granted[0]["principalId"]
        mine = client.get(f"{V1}/servicePrincipals/{client_sp}/appRoleAssignments")
        assert mine.headers["x-ms-resource-unit"] == "2"
        assert {a["id"] for a in mine.json()["value"]} == {
            a["id"] for a in assignments if a["principalId"] == client_sp
        }
        user_assignment = next(a for a in assignments if a["principalType"] == "User")
        via_user = client.get(
            f"{V1}/servicePrincipals/{user_assignment['resourceId']}/appRoleAssignedTo/"
            f"{user_assignment['id']}"
        )
        assert (
            via_user.status_code == 200 and via_user.json()["principalId"] == user_assignment["principalId"]
        )
        wrong = client.get(f"{V1}/servicePrincipals/{graph['id']}/appRoleAssignedTo/{user_assignment['id']}")
        assert user_assignment["resourceId"] == graph["id"] or wrong.status_code == 404
    with fakegraph.client(["User.Read.All", "AppRoleAssignment.ReadWrite.All"]) as client:
        listed = client.get(f"{V1}/users/{user_assignment['principalId']}/appRoleAssignments")
        assert listed.status_code == 200, listed.text
        assert user_assignment["id"] in {a["id"] for a in listed.json()["value"]}


def test_grants_list_and_view(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    grants = list(store.sets["oauth2PermissionGrants"].objects.values())
    assert {"AllPrincipals", "Principal"} <= {g["consentType"] for g in grants}
    with fakegraph.client(["Directory.Read.All"]) as client:
        listed = all_pages(client, f"{V1}/oauth2PermissionGrants", **{"$top": "3"})
        assert {g["id"] for g in listed} == {g["id"] for g in grants}
        assert client.get(f"{V1}/oauth2PermissionGrants").headers["x-ms-resource-unit"] == "2"
        one = grants[0]
        assert client.get(f"{V1}/oauth2PermissionGrants/{one['id']}").json()["scope"] == one["scope"]
        view = client.get(f"{V1}/servicePrincipals/{one['clientId']}/oauth2PermissionGrants").json()["value"]
        assert {g["id"] for g in view} == {g["id"] for g in grants if g["clientId"] == one["clientId"]}
    scopes = {s["value"] for s in graph_sp(fakegraph)["oauth2PermissionScopes"]}
    for grant in grants:
        assert set(grant["scope"].split()) <= scopes


def test_referential_integrity(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    sps = store.sets["servicePrincipals"]
    for a in store.sets["appRoleAssignments"].objects.values():
        found = store.resolve(a["principalId"])
        assert found is not None
        kind = {"users": "User", "groups": "Group", "servicePrincipals": "ServicePrincipal"}[found[0]]
        assert kind == a["principalType"] and found[1]["displayName"] == a["principalDisplayName"]
        resource = sps.get(a["resourceId"])
        assert resource is not None and resource["displayName"] == a["resourceDisplayName"]
        assert a["appRoleId"] == DEFAULT_ROLE or a["appRoleId"] in {r["id"] for r in resource["appRoles"]}
    for g in store.sets["oauth2PermissionGrants"].objects.values():
        assert g["clientId"] in sps and g["resourceId"] in sps
        assert (g["principalId"] is None) == (g["consentType"] == "AllPrincipals")
        assert g["principalId"] is None or g["principalId"] in store.sets["users"]
    for key, by_source in store.links.items():
        if key.split("/")[0] in {"applications", "servicePrincipals"}:
            for source, targets in by_source.items():
                assert source in store.sets[key.split("/")[0]]
                assert all(store.resolve(t) is not None for t in targets), key


def test_application_create_update_delete_and_recycle(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client(["Application.ReadWrite.All"]) as client:
        created = client.post(f"{V1}/applications", json={"displayName": "Payroll sync"})
        assert created.status_code == 201, created.text
        app = created.json()
        assert app["appId"] and app["publisherDomain"] == fakegraph.store.domain
        assert app["createdDateTime"] and app["deletedDateTime"] is None
        assert app["api"]["oauth2PermissionScopes"] == [] and app["web"]["redirectUris"] == []
        patched = client.patch(
            f"{V1}/applications/{app['id']}", json={"signInAudience": "AzureADMyOrg", "tags": ["payroll"]}
        )
        assert patched.status_code == 204
        got = client.get(f"{V1}/applications/{app['id']}").json()
        assert got["signInAudience"] == "AzureADMyOrg" and got["tags"] == ["payroll"]
        assert client.patch(f"{V1}/applications/{app['id']}", json={"appId": "x"}).status_code == 400
        sp = client.post(f"{V1}/servicePrincipals", json={"appId": app["appId"]})
        assert sp.status_code == 201, sp.text
        assert (
            sp.json()["appDisplayName"] == "Payroll sync"
            and sp.json()["servicePrincipalType"] == "Application"
        )
        assert client.post(f"{V1}/servicePrincipals", json={"appId": app["appId"]}).status_code == 409
        assert client.delete(f"{V1}/applications/{app['id']}").status_code == 204
        assert client.get(f"{V1}/applications/{app['id']}").status_code == 404
        deleted = client.get(f"{V1}/directory/deletedItems/microsoft.graph.application")
        assert deleted.status_code == 200, deleted.text
        assert app["id"] in {d["id"] for d in deleted.json()["value"]}


def test_app_role_assignment_create_and_delete(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    graph = graph_sp(fakegraph)
    client_sp = next(
        sp
        for sp in store.sets["servicePrincipals"].objects.values()
        if sp["servicePrincipalType"] == "ManagedIdentity"
    )
    role = "7ab1d382-f21e-4acd-a863-ba3e13f7da61"  # Directory.Read.All
    rights = ["AppRoleAssignment.ReadWrite.All", "Application.Read.All"]
    with fakegraph.client(rights) as client:
        body = {"principalId": client_sp["id"], "resourceId": graph["id"], "appRoleId": role}
        created = client.post(f"{V1}/servicePrincipals/{graph['id']}/appRoleAssignedTo", json=body)
        assert created.status_code == 201, created.text
        assignment = created.json()
        assert assignment["principalType"] == "ServicePrincipal"
        assert assignment["resourceDisplayName"] == "Microsoft Graph"
        assert assignment["id"] in store.sets["appRoleAssignments"]
        mine = client.get(f"{V1}/servicePrincipals/{client_sp['id']}/appRoleAssignments").json()["value"]
        assert assignment["id"] in {a["id"] for a in mine}
        bad = client.post(
            f"{V1}/servicePrincipals/{graph['id']}/appRoleAssignedTo",
            json={**body, "appRoleId": "11111111-1111-1111-1111-111111111111"},
        )
        assert bad.status_code == 400
        via_principal = client.post(
            f"{V1}/servicePrincipals/{client_sp['id']}/appRoleAssignments",
            json={**body, "appRoleId": "246dd0d5-5bd0-4def-940b-0421030a5b68"},
        )
        assert via_principal.status_code == 201, via_principal.text
        gone = client.delete(f"{V1}/servicePrincipals/{graph['id']}/appRoleAssignedTo/{assignment['id']}")
        assert gone.status_code == 204
        assert assignment["id"] not in store.sets["appRoleAssignments"]
        again = client.delete(
            f"{V1}/servicePrincipals/{client_sp['id']}/appRoleAssignments/{via_principal.json()['id']}"
        )
        assert again.status_code == 204


def test_grant_create(fakegraph: RunningFakeGraph) -> None:
    graph = graph_sp(fakegraph)
    client_sp = next(
        sp
        for sp in fakegraph.store.sets["servicePrincipals"].objects.values()
        if sp["servicePrincipalType"] == "ManagedIdentity"
    )
    with fakegraph.client(["DelegatedPermissionGrant.ReadWrite.All"]) as client:
        created = client.post(
            f"{V1}/oauth2PermissionGrants",
            json={
                "clientId": client_sp["id"],
                "consentType": "AllPrincipals",
                "resourceId": graph["id"],
                "scope": "User.Read openid",
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["principalId"] is None and "createdDateTime" not in created.json()
        missing = client.post(
            f"{V1}/oauth2PermissionGrants",
            json={
                "clientId": "00000000-1111-2222-3333-444444444444",
                "consentType": "AllPrincipals",
                "resourceId": graph["id"],
                "scope": "User.Read",
            },
        )
        assert missing.status_code in (400, 404)


def test_permissions_denied(fakegraph: RunningFakeGraph) -> None:
    graph = graph_sp(fakegraph)
    app = fakegraph.store.sets["applications"].ids()[0]
    with fakegraph.client(["User.Read.All", "Group.Read.All"]) as client:
        for path in (
            "/applications",
            f"/applications/{app}",
            f"/applications/{app}/owners",
            "/servicePrincipals",
            f"/servicePrincipals/{graph['id']}/appRoleAssignedTo",
            "/oauth2PermissionGrants",
        ):
            response = client.get(V1 + path)
            assert response.status_code == 403, path
            assert response.json()["error"]["code"] == "Authorization_RequestDenied"
    with fakegraph.client(READER) as client:
        assert client.post(f"{V1}/applications", json={"displayName": "x"}).status_code == 403
        assert client.get(f"{V1}/oauth2PermissionGrants").status_code == 403  # needs Directory.Read.All
        body = {"principalId": graph["id"], "resourceId": graph["id"], "appRoleId": DEFAULT_ROLE}
        denied = client.post(f"{V1}/servicePrincipals/{graph['id']}/appRoleAssignedTo", json=body)
        assert denied.status_code == 403
    with fakegraph.client(["Application.ReadWrite.OwnedBy"]) as client:
        assert client.get(f"{V1}/applications").status_code == 200


def test_policy_links_resolve_to_policies_area_objects(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    checked = 0
    with fakegraph.client(READER) as client:
        for owner, nav in (
            ("applications", "tokenIssuancePolicies"),
            ("applications", "appManagementPolicies"),
            ("servicePrincipals", "claimsMappingPolicies"),
        ):
            if not store.sets.get(f"policies/{nav}"):
                continue
            source, targets = next(iter(store.links[f"{owner}/{nav}"].items()))
            listed = client.get(f"{V1}/{owner}/{source}/{nav}").json()["value"]
            assert [p["id"] for p in listed] == targets
            assert all(p["id"] in store.sets[f"policies/{nav}"] for p in listed)
            checked += 1
    assert checked
