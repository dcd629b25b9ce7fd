"""External identities endpoints of fakegraph, over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from entrasnap.fakegraph.service import RunningFakeGraph

Factory = Callable[..., RunningFakeGraph]
ID = "/v1.0/identity"


@pytest.fixture
def tenant(fakegraph_factory: Factory) -> RunningFakeGraph:
    return fakegraph_factory(throttling=False)


def test_identity_providers(tenant: RunningFakeGraph) -> None:
    with tenant.client(roles=["IdentityProvider.Read.All"]) as client:
        response = client.get(f"{ID}/identityProviders")
        assert response.status_code == 200
        providers = response.json()["value"]
        assert "@odata.nextLink" not in response.json()
        kinds = {p["@odata.type"] for p in providers}
        assert kinds == {
            "#microsoft.graph.builtInIdentityProvider",
            "#microsoft.graph.socialIdentityProvider",
        }
        google = client.get(f"{ID}/identityProviders/Google-OAUTH").json()
        assert google["identityProviderType"] == "Google" and google["clientSecret"] == "******"
        assert client.post(f"{ID}/identityProviders", json={}).status_code == 403
    with tenant.client(roles=["IdentityUserFlow.Read.All"]) as other:
        assert other.get(f"{ID}/identityProviders").status_code == 403
    with tenant.client() as client:
        created = client.post(
            f"{ID}/identityProviders",
            json={
                "@odata.type": "#microsoft.graph.socialIdentityProvider",
                "displayName": "Amazon",
                "identityProviderType": "Amazon",
                "clientId": "amzn1",
                "clientSecret": "s3cret",
            },
        )
        assert created.status_code == 201
        assert created.json()["id"] == "Amazon-OAUTH" and created.json()["clientSecret"] == "******"
        assert client.post(f"{ID}/identityProviders", json={"displayName": "untyped"}).status_code == 400
        assert client.delete(f"{ID}/identityProviders/Amazon-OAUTH").status_code == 204


def test_user_flows_and_children_reference_existing_objects(tenant: RunningFakeGraph) -> None:
    with tenant.client(roles=["IdentityUserFlow.Read.All"]) as client:
        flows = client.get(f"{ID}/b2xUserFlows").json()["value"]
        assert [f["id"] for f in flows] == ["B2X_1_PartnerSignUp", "B2X_1_SupplierOnboarding"]
        assert flows[0]["userFlowType"] == "signUpOrSignIn"
        providers = {p["id"] for p in tenant.store.sets["identity/identityProviders"].after()}
        attributes = {a["id"] for a in client.get(f"{ID}/userFlowAttributes").json()["value"]}
        for flow in flows:
            idps = client.get(f"{ID}/b2xUserFlows/{flow['id']}/userFlowIdentityProviders").json()["value"]
            assert idps and {i["id"] for i in idps} <= providers
            assert all(i["@odata.type"].startswith("#microsoft.graph.") for i in idps)
            languages = client.get(f"{ID}/b2xUserFlows/{flow['id']}/languages").json()["value"]
            assert "en" in {lang["id"] for lang in languages}
            assignments = client.get(f"{ID}/b2xUserFlows/{flow['id']}/userAttributeAssignments").json()[
                "value"
            ]
            assert {"email", "displayName"} <= {a["id"] for a in assignments}
            assert {a["id"] for a in assignments} <= attributes
        expanded = client.get(
            f"{ID}/b2xUserFlows/B2X_1_PartnerSignUp/userAttributeAssignments/email",
            params={"$expand": "userAttribute"},
        ).json()
        assert expanded["userAttribute"]["id"] == "email"
        with_langs = client.get(
            f"{ID}/b2xUserFlows/B2X_1_PartnerSignUp", params={"$expand": "languages"}
        ).json()
        assert len(with_langs["languages"]) == 3
        assert client.get(f"{ID}/b2xUserFlows/B2X_1_Missing").status_code == 404


def test_user_flow_attributes(tenant: RunningFakeGraph) -> None:
    with tenant.client() as client:
        attributes = client.get(f"{ID}/userFlowAttributes").json()["value"]
        built_in = [a for a in attributes if a["userFlowAttributeType"] == "builtIn"]
        custom = [a for a in attributes if a["userFlowAttributeType"] == "custom"]
        assert len(built_in) == 10 and len(custom) == 2
        assert all(a["@odata.type"] == "#microsoft.graph.identityCustomUserFlowAttribute" for a in custom)
        prefix = custom[0]["id"].rsplit("_", 1)[0]
        assert prefix.startswith("extension_") and len(prefix) == len("extension_") + 32
        created = client.post(
            f"{ID}/userFlowAttributes",
            json={"displayName": "Hobby", "description": "Your hobby", "dataType": "string"},
        )
        assert created.status_code == 201
        assert created.json()["id"] == f"{prefix}_Hobby"
        assert client.delete(f"{ID}/userFlowAttributes/city").status_code == 400
        assert client.delete(f"{ID}/userFlowAttributes/{prefix}_Hobby").status_code == 204


def test_api_connectors_and_custom_extensions(tenant: RunningFakeGraph) -> None:
    with tenant.client(roles=["APIConnectors.Read.All", "CustomAuthenticationExtension.Read.All"]) as client:
        connectors = client.get(f"{ID}/apiConnectors").json()["value"]
        assert len(connectors) == 2
        assert {c["authenticationConfiguration"]["@odata.type"] for c in connectors} == {
            "#microsoft.graph.basicAuthentication",
            "#microsoft.graph.clientCertificateAuthentication",
        }
        assert all(c["targetUrl"].startswith("https://") for c in connectors)
        extensions = client.get(f"{ID}/customAuthenticationExtensions").json()["value"]
        assert extensions[0]["@odata.type"] == "#microsoft.graph.onTokenIssuanceStartCustomExtension"
        assert extensions[0]["endpointConfiguration"]["@odata.type"] == "#microsoft.graph.httpRequestEndpoint"
        assert client.get(f"{ID}/customAuthenticationExtensions/{extensions[0]['id']}").status_code == 200
        assert client.post(f"{ID}/apiConnectors", json={"displayName": "x"}).status_code == 403
