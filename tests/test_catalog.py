"""The resource catalog: consistency, selection, permissions, and agreement with fakegraph over HTTP."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from entrasnap.catalog import BY_KEY, CATALOG, GROUPS, permissions, resolve
from entrasnap.catalog.model import ResourceType
from entrasnap.catalog.schema_select import GROUP_SELECT, USER_SELECT

ROOT = Path(__file__).resolve().parent.parent
KNOWN_GROUPS = {
    "config",
    "users",
    "groups",
    "devices",
    "applications",
    "roles",
    "pim",
    "conditional-access",
    "policies",
    "external-identities",
    "governance",
}


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- consistency ------------------------------------------------------------------------------


def test_keys_unique_and_camel_case() -> None:
    keys = [t.key for t in CATALOG]
    assert len(keys) == len(set(keys))
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]+", k) for k in keys)


def test_paths_groups_versions_and_licences() -> None:
    for t in CATALOG:
        assert t.path.startswith("/") and not t.path.endswith("/"), t.key
        assert "{" not in t.path, t.key
        assert t.group in KNOWN_GROUPS, t.key
        assert t.api in {"v1.0", "beta"}, t.key
        assert t.license in {None, "P1", "P2", "Governance"}, t.key
        assert t.page_size in {None, 999} or 1 <= t.page_size <= 999, t.key
        assert not (t.singleton and (t.children or t.parent or t.page_size)), t.key
        for child in t.children:
            assert child.path.startswith(t.path + "/{id}/"), (t.key, child.name)
            assert child.kind in {"refs", "objects"}


def test_parent_and_reference_keys_exist_and_parents_come_first() -> None:
    order = {t.key: i for i, t in enumerate(CATALOG)}
    for t in CATALOG:
        if t.parent is not None:
            assert t.parent.type in BY_KEY, t.key
            assert order[t.parent.type] < order[t.key], t.key
            assert "{id}" in t.parent.filter, t.key
        for ref in t.references:
            assert ref in BY_KEY, (t.key, ref)


def test_types_read_through_another_need_nothing_more_than_it() -> None:
    """A type carried by another's objects (ResourceType.through) is read with it whenever both are chosen:
    the carrier is read in full (no delta), with the same permission."""
    through = [t for t in CATALOG if t.through]
    assert through
    for rtype in through:
        assert rtype.through is not None
        source = BY_KEY[rtype.through.type]
        assert not source.delta and not source.singleton and source.through is None, rtype.key
        assert source.permission == rtype.permission and source.license == rtype.license, rtype.key


def test_conditional_access_types_are_paced_and_policies_read_from_beta() -> None:
    for t in CATALOG:
        assert t.paced == t.path.startswith("/identity/conditionalAccess/"), t.key
    assert BY_KEY["conditionalAccessPolicies"].api == "beta"
    assert BY_KEY["conditionalAccessPolicies"].restore_order > max(
        BY_KEY[k].restore_order
        for k in (
            "namedLocations",
            "authenticationStrengthPolicies",
            "authenticationContextClassReferences",
            "groups",
        )
    )
    assert BY_KEY["applications"].restore_order < BY_KEY["servicePrincipals"].restore_order


def test_cloud_only_filter_only_on_users_and_groups() -> None:
    with_filter = {t.key for t in CATALOG if t.cloud_only_filter}
    assert with_filter == {"users", "groups"}
    assert BY_KEY["users"].cloud_only_filter == "onPremisesSyncEnabled ne true"


def test_security_relevant_timestamps_are_not_noise() -> None:
    for key in ("users", "groups"):
        noise = set(BY_KEY[key].noise)
        assert not noise & {
            "signInSessionsValidFromDateTime",
            "lastPasswordChangeDateTime",
            "createdDateTime",
        }
        assert "onPremisesLastSyncDateTime" in noise


# --- $select lists ----------------------------------------------------------------------------


def test_selects_cover_schema_minus_refused_properties() -> None:
    assert USER_SELECT[:2] == ("id", "deletedDateTime")
    for refused in ("aboutMe", "mailboxSettings", "signInActivity", "skills", "passwordProfile"):
        assert refused not in USER_SELECT
    for needed in ("accountEnabled", "userType", "signInSessionsValidFromDateTime", "onPremisesSyncEnabled"):
        assert needed in USER_SELECT
    for refused in ("hasMembersWithLicenseErrors", "isArchived", "allowExternalSenders", "unseenCount"):
        assert refused not in GROUP_SELECT
    assert "isAssignableToRole" in GROUP_SELECT and "membershipRule" in GROUP_SELECT
    assert BY_KEY["devices"].select is not None and "deviceId" in BY_KEY["devices"].select


def test_packaged_selects_are_current(shared_dir: Path) -> None:
    script = load_script("update_catalog_properties")
    current = (ROOT / "src" / "entrasnap" / "catalog" / "schema_select.py").read_text(encoding="utf-8")
    assert script.render(shared_dir) == current, "run scripts/update_catalog_properties.py"


# --- resolve() and permissions() --------------------------------------------------------------


def test_resolve_by_key_group_and_everything() -> None:
    assert [t.key for t in resolve(["users"])] == ["users"]
    pim = resolve(["pim", "roleEligibilitySchedules"])
    assert [t.key for t in pim] == list(GROUPS["pim"])
    mixed = [t.key for t in resolve(["conditional-access", "groups"])]
    assert mixed == ["groups", *GROUPS["conditional-access"]]  # catalog order, not selection order
    assert resolve([]) == list(CATALOG)


def test_resolve_unknown_lists_choices() -> None:
    with pytest.raises(ValueError, match="unknown resource type or group: nope") as info:
        resolve(["users", "nope"])
    assert "conditional-access" in str(info.value) and "conditionalAccessPolicies" in str(info.value)


def test_permissions_are_least_privilege() -> None:
    every = permissions(CATALOG)
    assert every == sorted(set(every))
    assert not [p for p in every if "ReadWrite" in p]
    assert "Directory.Read.All" in every  # oauth2PermissionGrants' least-privileged permission
    # Organization.Read.All always: a snapshot reads /organization to know which tenant it files
    assert permissions(resolve(["groups"])) == [
        "GroupMember.Read.All",
        "GroupSettings.Read.All",
        "Organization.Read.All",
    ]
    assert permissions(resolve(["conditionalAccessPolicies"])) == ["Organization.Read.All", "Policy.Read.All"]


# --- agreement with fakegraph ---------------------------------------------------------------


def request_for(t: ResourceType, parent_id: str | None) -> tuple[str, dict[str, str], dict[str, str]]:
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    filters = [
        f for f in (t.filter, t.parent.filter.replace("{id}", parent_id or "") if t.parent else None) if f
    ]
    if filters:
        params["$filter"] = " and ".join(filters)
    if t.select:
        params["$select"] = ",".join(t.select)
    if t.page_size:
        params["$top"] = str(t.page_size)
    if t.expand:
        params["$expand"] = t.expand
    if t.consistency_eventual:
        headers["ConsistencyLevel"] = "eventual"
    return f"/{t.api}{t.path}", params, headers


def get(fakegraph: Any, roles: list[str], url: str, params: dict[str, str], headers: dict[str, str]) -> Any:
    with fakegraph.client(roles) as client:
        response = client.get(url, params=params, headers=headers)
    assert response.status_code == 200, f"{url} {params} with {roles}: {response.status_code} {response.text}"
    return response.json()


@pytest.fixture
def fast_fake(fakegraph_factory: Any) -> Any:
    """An S tenant whose Conditional Access pacing interval is 10 ms."""
    return fakegraph_factory(time_scale=0.01)


def ids(client: httpx.Client, t: ResourceType) -> list[str]:
    params = {"$top": "999"} if t.page_size else {}
    if t.filter:
        params["$filter"] = t.filter
    response = client.get(f"/{t.api}{t.path}", params=params)
    assert response.status_code == 200, response.text
    return [str(o[t.id_field]) for o in response.json()["value"]]


@pytest.mark.parametrize("key", [t.key for t in CATALOG])
def test_type_is_served_with_exactly_its_permissions(fast_fake: Any, key: str) -> None:
    """GET each type (and each child of its first object) with a token holding only permissions([type])."""
    t = BY_KEY[key]
    roles = permissions([t])
    parents: list[str | None] = [None]
    if t.parent:
        with fast_fake.client(None) as admin:
            parents = list(ids(admin, BY_KEY[t.parent.type]))
    values: list[dict[str, Any]] = []
    for parent_id in parents:  # the first parent with objects of this type, else the last parent
        url, params, headers = request_for(t, parent_id)
        body = get(fast_fake, roles, url, params, headers)
        if t.singleton:
            assert "value" not in body and set(body) - {"@odata.context"}, key
            return
        values = body["value"]
        if values:
            break
    assert values, f"the fake tenant has no {key}: the test cannot check its children or $select"
    assert all(t.id_field in obj for obj in values), key
    if t.select:
        assert set(values[0]) - {"@odata.type"} <= set(t.select), key
    owner = str(values[0][t.id_field])
    for child in t.children:
        child_url = f"/{child.api}{child.path.replace('{id}', owner)}"
        child_params = {"$select": "id"} if child.kind == "refs" else {}
        child_body = get(fast_fake, roles, child_url, child_params, {})
        assert isinstance(child_body["value"], list), (key, child.name)


def test_cloud_only_read_needs_eventual_consistency(fakegraph: Any) -> None:
    t = BY_KEY["users"]
    params = {"$filter": t.cloud_only_filter or "", "$count": "true", "$select": "id,onPremisesSyncEnabled"}
    with fakegraph.client(permissions([t])) as client:
        answer = client.get("/v1.0/users", params=params, headers={"ConsistencyLevel": "eventual"})
    assert answer.status_code == 200, answer.text
    assert all(u.get("onPremisesSyncEnabled") is not True for u in answer.json()["value"])


def test_a_missing_permission_is_refused(fakegraph: Any) -> None:
    """The agreement test above can fail: without the catalog's permission the fake answers 403."""
    t = BY_KEY["namedLocations"]
    with fakegraph.client(["User.Read.All"]) as client:
        assert client.get(f"/{t.api}{t.path}").status_code == 403


def test_resources_doc_is_current() -> None:
    from entrasnap.catalog.docs import resources_markdown

    path = ROOT / "docs" / "RESOURCES.md"
    assert path.read_text(encoding="utf-8") == resources_markdown() + "\n", (
        "docs/RESOURCES.md is stale: run `python -m entrasnap.catalog.docs > docs/RESOURCES.md`"
    )
