"""The directory area over HTTP: organization, domains, licences, settings, custom security attributes,
role templates, devices, administrative units and backup snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from entrasnap.fakegraph.areas.directory import (
    CBA_CONFIGURATION_ID,
    GROUP_UNIFIED_GUEST_TEMPLATE,
    ROLE_TEMPLATES,
    SETTING_TEMPLATES,
)
from entrasnap.fakegraph.areas.users import SKU_E3, SKU_E5
from entrasnap.fakegraph.resource import P1, P2
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.fakegraph.tenant import generate
from schemacheck import violations

V1 = "/v1.0"
BETA = "/beta"


def get(fg: RunningFakeGraph, url: str, roles: list[str] | None = None, **headers: str) -> Any:
    with fg.client(roles, headers=headers) as client:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.json()


def all_pages(fg: RunningFakeGraph, url: str, roles: list[str] | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with fg.client(roles) as client:
        next_url: str | None = url
        while next_url:
            response = client.get(next_url)
            assert response.status_code == 200, response.text
            body = response.json()
            out += body["value"]
            next_url = body.get("@odata.nextLink")
    return out


def assert_schema(type_name: str, objects: list[dict[str, Any]], version: str = "v1.0") -> None:
    for obj in objects:
        found = violations(type_name, obj, version)
        assert not found, (type_name, found[:5])


def test_organization_and_item(fakegraph: RunningFakeGraph) -> None:
    body = get(fakegraph, f"{V1}/organization", ["Organization.Read.All"])
    assert [o["id"] for o in body["value"]] == [fakegraph.tenant_id]
    org = body["value"][0]
    assert_schema("microsoft.graph.organization", [org])
    assert org["assignedPlans"] and org["provisionedPlans"]
    initial = [d for d in org["verifiedDomains"] if d["isInitial"]]
    assert [d["name"] for d in initial] == [fakegraph.store.domain]
    item = get(fakegraph, f"{V1}/organization/{fakegraph.tenant_id}", ["Directory.Read.All"])
    assert item["displayName"] == org["displayName"]
    assert item["@odata.context"].endswith("$metadata#organization/$entity")


def test_branding_and_localizations(fakegraph: RunningFakeGraph) -> None:
    tid = fakegraph.tenant_id
    branding = get(fakegraph, f"{V1}/organization/{tid}/branding", ["OrganizationalBranding.Read.All"])
    assert branding["id"] == "0"
    assert_schema("microsoft.graph.organizationalBranding", [branding])
    locales = get(fakegraph, f"{BETA}/organization/{tid}/branding/localizations", ["Organization.Read.All"])
    assert [loc["id"] for loc in locales["value"]] == ["0", "fr-FR"]
    assert_schema("microsoft.graph.organizationalBrandingLocalization", locales["value"])
    french = get(fakegraph, f"{V1}/organization/{tid}/branding/localizations/fr-FR")
    assert french["signInPageText"].startswith("Bienvenue")


def test_certificate_based_auth_configuration(fakegraph: RunningFakeGraph) -> None:
    url = f"{V1}/organization/{fakegraph.tenant_id}/certificateBasedAuthConfiguration"
    body = get(fakegraph, url, ["Organization.Read.All"])
    assert [c["id"] for c in body["value"]] == [CBA_CONFIGURATION_ID]
    assert_schema("microsoft.graph.certificateBasedAuthConfiguration", body["value"])
    assert get(fakegraph, f"{url}/{CBA_CONFIGURATION_ID}")["certificateAuthorities"][0]["isRootAuthority"]


def test_on_premises_synchronization(fakegraph: RunningFakeGraph) -> None:
    body = get(
        fakegraph, f"{V1}/directory/onPremisesSynchronization", ["OnPremDirectorySynchronization.Read.All"]
    )
    assert [o["id"] for o in body["value"]] == [fakegraph.tenant_id]
    assert_schema("microsoft.graph.onPremisesDirectorySynchronization", body["value"])
    item = get(fakegraph, f"{V1}/directory/onPremisesSynchronization/{fakegraph.tenant_id}")
    assert item["configuration"]["accidentalDeletionPrevention"]["alertThreshold"] == 500


def test_domains(fakegraph: RunningFakeGraph) -> None:
    domains = get(fakegraph, f"{V1}/domains", ["Domain.Read.All"])["value"]
    assert_schema("microsoft.graph.domain", domains)
    initial = [d for d in domains if d["isInitial"]]
    assert [d["id"] for d in initial] == [fakegraph.store.domain]
    assert sum(d["isDefault"] for d in domains) == 1
    assert any(d["authenticationType"] == "Federated" and d["isVerified"] for d in domains)
    custom = next(d for d in domains if d["isDefault"])
    assert get(fakegraph, f"{V1}/domains/{custom['id']}")["id"] == custom["id"]


def test_subscribed_skus_match_user_licences(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client(["Organization.Read.All"]) as client:
        response = client.get(f"{V1}/subscribedSkus")
    assert response.status_code == 200
    assert response.headers["x-ms-resource-unit"] == "3"
    skus = response.json()["value"]
    assert_schema("microsoft.graph.subscribedSku", skus)
    by_sku = {s["skuId"]: s for s in skus}
    used: dict[str, int] = {}
    for user in fakegraph.store.sets["users"].after():
        for lic in user["assignedLicenses"]:
            used[lic["skuId"]] = used.get(lic["skuId"], 0) + 1
    assert used, "users should hold licences"
    for sku_id, count in used.items():
        assert by_sku[sku_id]["consumedUnits"] == count
        assert by_sku[sku_id]["prepaidUnits"]["enabled"] >= count
    plans = {p["servicePlanName"] for p in by_sku[SKU_E5]["servicePlans"]}
    assert {"AAD_PREMIUM", "AAD_PREMIUM_P2"} <= plans
    one = skus[0]
    assert one["id"] == f"{fakegraph.tenant_id}_{one['skuId']}"
    assert get(fakegraph, f"{V1}/subscribedSkus/{one['id']}")["skuPartNumber"] == one["skuPartNumber"]


def test_subscribed_skus_follow_tenant_licences() -> None:
    store = generate("S", 3, licenses=set())
    plans = {p["servicePlanName"] for s in store.sets["subscribedSkus"].after() for p in s["servicePlans"]}
    assert not plans & {"AAD_PREMIUM", "AAD_PREMIUM_P2"}
    store = generate("S", 3, licenses={P1})
    plans = {p["servicePlanName"] for s in store.sets["subscribedSkus"].after() for p in s["servicePlans"]}
    assert "AAD_PREMIUM" in plans and "AAD_PREMIUM_P2" not in plans
    assert P2 not in store.licenses
    assert {s["skuId"] for s in store.sets["subscribedSkus"].after()} == {SKU_E3, SKU_E5}


def test_settings_and_templates_per_version(fakegraph: RunningFakeGraph) -> None:
    roles = ["GroupSettings.Read.All"]
    beta_settings = get(fakegraph, f"{BETA}/settings", roles)["value"]
    v1_settings = get(fakegraph, f"{V1}/groupSettings", roles)["value"]
    assert beta_settings == v1_settings
    assert {s["displayName"] for s in beta_settings} == {
        "Group.Unified",
        "Password Rule Settings",
        "Consent Policy Settings",
    }
    assert_schema("microsoft.graph.groupSetting", v1_settings)
    assert_schema("microsoft.graph.directorySetting", beta_settings, "beta")
    templates = get(fakegraph, f"{BETA}/directorySettingTemplates", roles)["value"]
    assert {t["id"] for t in templates} == set(SETTING_TEMPLATES)
    assert_schema(
        "microsoft.graph.groupSettingTemplate", get(fakegraph, f"{V1}/groupSettingTemplates", roles)["value"]
    )
    assert_schema("microsoft.graph.directorySettingTemplate", templates, "beta")
    for setting in beta_settings:
        template = next(t for t in templates if t["id"] == setting["templateId"])
        assert [v["name"] for v in setting["values"]] == [v["name"] for v in template["values"]]
    # Not documented in the other version.
    with fakegraph.client() as client:
        assert client.get(f"{V1}/settings").status_code == 400
        assert client.get(f"{BETA}/groupSettingTemplates").status_code == 400
    one = beta_settings[0]
    assert get(fakegraph, f"{V1}/groupSettings/{one['id']}")["templateId"] == one["templateId"]


def test_group_settings(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    with_settings = [
        k.split("/")[1] for k in store.sets if k.startswith("groups/") and k.endswith("/settings")
    ]
    assert with_settings
    for gid in with_settings:
        assert "Unified" in store.sets["groups"].objects[gid]["groupTypes"]
    gid = with_settings[0]
    body = get(fakegraph, f"{V1}/groups/{gid}/settings", ["Group.Read.All"])
    assert [s["templateId"] for s in body["value"]] == [GROUP_UNIFIED_GUEST_TEMPLATE]
    assert_schema("microsoft.graph.groupSetting", body["value"])
    beta = get(fakegraph, f"{BETA}/groups/{gid}/settings", ["Group.Read.All"])
    assert beta["value"] == body["value"]


def test_custom_security_attributes(fakegraph: RunningFakeGraph) -> None:
    roles = ["CustomSecAttributeDefinition.Read.All"]
    sets = get(fakegraph, f"{V1}/directory/attributeSets", roles)["value"]
    assert_schema("microsoft.graph.attributeSet", sets)
    names = {s["id"] for s in sets}
    definitions = get(fakegraph, f"{V1}/directory/customSecurityAttributeDefinitions", roles)["value"]
    assert_schema("microsoft.graph.customSecurityAttributeDefinition", definitions)
    for definition in definitions:
        assert definition["id"] == f"{definition['attributeSet']}_{definition['name']}"
        assert definition["attributeSet"] in names
        assert "allowedValues" not in definition
    expanded = get(
        fakegraph,
        f"{V1}/directory/customSecurityAttributeDefinitions/Security_Clearance?$expand=allowedValues",
        roles,
    )
    assert [v["id"] for v in expanded["allowedValues"]] == sorted(
        ["Public", "Confidential", "Secret", "TopSecret"]
    )
    values = get(
        fakegraph,
        f"{V1}/directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues",
        roles,
    )["value"]
    assert_schema("microsoft.graph.allowedValue", values)
    assert (
        get(
            fakegraph,
            f"{V1}/directory/customSecurityAttributeDefinitions/Engineering_Project/allowedValues/Alpine",
            roles,
        )["isActive"]
        is True
    )
    assert get(fakegraph, f"{V1}/directory/attributeSets/Engineering", roles)["maxAttributesPerSet"] == 25


def test_directory_role_templates(fakegraph: RunningFakeGraph) -> None:
    body = get(fakegraph, f"{V1}/directoryRoleTemplates", ["RoleManagement.Read.Directory"])
    assert {t["id"]: t["displayName"] for t in body["value"]} == {i: n for i, n, _ in ROLE_TEMPLATES}
    assert "@odata.nextLink" not in body
    assert_schema("microsoft.graph.directoryRoleTemplate", body["value"])
    ga = get(fakegraph, f"{BETA}/directoryRoleTemplates/62e90394-69f5-4237-9190-012177145e10")
    assert ga["displayName"] == "Global Administrator"
    assert fakegraph.store.resolve("62e90394-69f5-4237-9190-012177145e10") is not None


def test_devices_paging_and_owners(fakegraph: RunningFakeGraph) -> None:
    roles = ["Device.Read.All"]
    first = get(fakegraph, f"{V1}/devices?$top=30", roles)
    assert len(first["value"]) == 30 and "@odata.nextLink" in first
    devices = all_pages(fakegraph, f"{V1}/devices?$top=30", roles)
    assert len(devices) == len(fakegraph.store.sets["devices"]) == len({d["id"] for d in devices})
    assert_schema("microsoft.graph.device", devices)
    assert {d["operatingSystem"] for d in devices} == {"Windows", "iOS", "Android", "macOS"}
    assert {d["trustType"] for d in devices} == {"AzureAd", "ServerAd", "Workplace"}
    owned = next(d for d in devices if fakegraph.store.linked("devices/registeredOwners", d["id"]))
    owners = get(fakegraph, f"{V1}/devices/{owned['id']}/registeredOwners", roles)["value"]
    assert owners and all(o["@odata.type"] == "#microsoft.graph.user" for o in owners)
    users = get(fakegraph, f"{V1}/devices/{owned['id']}/registeredUsers", roles)["value"]
    assert {o["id"] for o in owners} <= {u["id"] for u in users}
    assert get(fakegraph, f"{V1}/devices/{owned['id']}", roles)["deviceId"] == owned["deviceId"]
    delta = get(fakegraph, f"{V1}/devices/delta", roles)
    assert delta["value"]


def test_devices_in_security_groups(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    holders = [
        gid
        for gid, members in store.links["groups/members"].items()
        if any(store.directory.get(m) == "devices" for m in members)
    ]
    assert holders
    for gid in holders:
        assert "Unified" not in store.sets["groups"].objects[gid]["groupTypes"]
    members = all_pages(fakegraph, f"{V1}/groups/{holders[0]}/members")
    assert any(m["@odata.type"] == "#microsoft.graph.device" for m in members)


def test_administrative_units(fakegraph: RunningFakeGraph) -> None:
    roles = ["AdministrativeUnit.Read.All"]
    units = get(fakegraph, f"{V1}/directory/administrativeUnits", roles)["value"]
    assert len(units) == len(fakegraph.store.sets["directory/administrativeUnits"])
    assert_schema("microsoft.graph.administrativeUnit", units)
    assert any(u["membershipType"] == "Dynamic" and u["membershipRule"] for u in units)
    assert any(u["visibility"] == "HiddenMembership" for u in units)
    assert any(u["isMemberManagementRestricted"] for u in units)
    dynamic = next(u for u in units if u["membershipType"] == "Dynamic")
    members = all_pages(
        fakegraph, f"{V1}/directory/administrativeUnits/{dynamic['id']}/members?$top=5", roles
    )
    prop, value = dynamic["membershipRule"].strip("()").split(" -eq ")
    expected = {
        u["id"]
        for u in fakegraph.store.sets["users"].after()
        if u.get(prop.removeprefix("user.")) == value.strip('"')
    }
    assert {m["id"] for m in members} == expected
    scoped = get(
        fakegraph,
        f"{V1}/directory/administrativeUnits/{dynamic['id']}/scopedRoleMembers",
        ["RoleManagement.Read.Directory"],
    )
    assert isinstance(scoped["value"], list)
    assert get(fakegraph, f"{V1}/directory/administrativeUnits/{dynamic['id']}", roles)["id"] == dynamic["id"]
    assert get(fakegraph, f"{V1}/directory/administrativeUnits/delta", roles)["value"]


def test_scoped_role_members_is_a_view(fakegraph: RunningFakeGraph) -> None:
    store = fakegraph.store
    au = store.sets["directory/administrativeUnits"].ids()[0]
    user = store.sets["users"].ids()[0]
    store.add(
        "scopedRoleMemberships",
        {
            "id": "scoped-1",
            "administrativeUnitId": au,
            "roleId": "6a2a7e7a-0000-0000-0000-000000000001",
            "roleMemberInfo": {"id": user, "displayName": "x", "userPrincipalName": "x@y"},
        },
    )
    expected = sorted(
        s["id"] for s in store.sets["scopedRoleMemberships"].after() if s["administrativeUnitId"] == au
    )
    body = get(fakegraph, f"{V1}/directory/administrativeUnits/{au}/scopedRoleMembers")
    assert "scoped-1" in expected
    assert [s["id"] for s in body["value"]] == expected
    for other in store.sets["directory/administrativeUnits"].ids()[1:]:
        listed = get(fakegraph, f"{V1}/directory/administrativeUnits/{other}/scopedRoleMembers")["value"]
        assert all(s["administrativeUnitId"] == other for s in listed)
        assert "scoped-1" not in {s["id"] for s in listed}


def test_recovery_snapshots(fakegraph: RunningFakeGraph) -> None:
    body = get(fakegraph, f"{BETA}/directory/recovery/snapshots", ["EntraBackup.Read.All"])
    snapshots = body["value"]
    assert len(snapshots) == 5
    days = sorted(s["createdDateTime"][:10] for s in snapshots)
    assert len(set(days)) == 5
    assert_schema("microsoft.graph.entraRecoveryServices.snapshot", snapshots)
    one = snapshots[0]
    assert (
        get(fakegraph, f"{V1}/directory/recovery/snapshots/{one['id']}")["createdDateTime"]
        == one["createdDateTime"]
    )


@pytest.mark.parametrize(
    "url",
    [
        "/v1.0/organization",
        "/v1.0/domains",
        "/v1.0/subscribedSkus",
        "/beta/settings",
        "/v1.0/groupSettingTemplates",
        "/v1.0/directory/customSecurityAttributeDefinitions",
        "/v1.0/directory/attributeSets",
        "/v1.0/directoryRoleTemplates",
        "/v1.0/devices",
        "/v1.0/directory/administrativeUnits",
        "/v1.0/directory/recovery/snapshots",
        "/v1.0/directory/onPremisesSynchronization",
    ],
)
def test_permission_denied(fakegraph: RunningFakeGraph, url: str) -> None:
    with fakegraph.client(["Mail.Read", "Calendars.Read"]) as client:
        response = client.get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"


def test_directory_read_is_not_enough_for_csa_or_backup(fakegraph: RunningFakeGraph) -> None:
    with fakegraph.client(["Directory.Read.All"]) as client:
        assert client.get(f"{V1}/directory/customSecurityAttributeDefinitions").status_code == 403
        assert client.get(f"{V1}/directory/recovery/snapshots").status_code == 403
        assert client.get(f"{V1}/devices").status_code == 200


def test_referential_integrity() -> None:
    store = generate("S", 5)
    tid = store.tenant_id
    users = store.sets["users"]
    assert list(store.sets["organization"].ids()) == [tid]
    assert store.sets["directory/onPremisesSynchronization"].ids() == [tid]
    assert f"organization/{tid}/branding" in store.singletons
    domain_ids = set(store.sets["domains"].ids())
    org = store.sets["organization"].objects[tid]
    assert {d["name"] for d in org["verifiedDomains"]} <= domain_ids
    templates = set(store.sets["directorySettingTemplates"].ids())
    setting_keys = ["settings"] + [
        k for k in store.sets if k.startswith("groups/") and k.endswith("/settings")
    ]
    for key in setting_keys:
        if key != "settings":
            assert key.split("/")[1] in store.sets["groups"]
        for setting in store.sets[key].after():
            assert setting["templateId"] in templates
    for setting in store.sets["settings"].after():
        for value in setting["values"]:
            if value["name"] == "GroupCreationAllowedGroupId" and value["value"]:
                assert value["value"] in store.sets["groups"]
    attribute_sets = set(store.sets["directory/attributeSets"].ids())
    for definition in store.sets["directory/customSecurityAttributeDefinitions"].after():
        assert definition["attributeSet"] in attribute_sets
    for key in [k for k in store.sets if k.endswith("/allowedValues")]:
        assert key.split("/")[2] in store.sets["directory/customSecurityAttributeDefinitions"]
    for link_key in ("devices/registeredOwners", "devices/registeredUsers"):
        for device_id, targets in store.links[link_key].items():
            assert device_id in store.sets["devices"]
            assert all(t in users for t in targets)
    for au_id, targets in store.links["directory/administrativeUnits/members"].items():
        assert au_id in store.sets["directory/administrativeUnits"]
        assert all(store.directory.get(t) in {"users", "groups", "devices"} for t in targets)
    for members in store.links["groups/members"].values():
        assert all(store.resolve(m) is not None for m in members)
    sku_ids = {s["skuId"] for s in store.sets["subscribedSkus"].after()}
    for user in users.after():
        assert {lic["skuId"] for lic in user["assignedLicenses"]} <= sku_ids
    for template_id, _, _ in ROLE_TEMPLATES:
        assert store.directory[template_id] == "directoryRoleTemplates"


def test_deterministic() -> None:
    first, second = generate("S", 7), generate("S", 7)
    keys = [k for k in first.sets if not k.startswith(("users", "groups"))] + ["groups"]
    for key in keys:
        assert list(first.sets[key].after()) == list(second.sets[key].after()), key
    for key in (
        "devices/registeredOwners",
        "devices/registeredUsers",
        "directory/administrativeUnits/members",
    ):
        assert first.links[key] == second.links[key]
    assert first.singletons == second.singletons
    other = generate("S", 8)
    assert first.sets["devices"].ids() != other.sets["devices"].ids()
