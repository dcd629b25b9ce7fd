"""How the collector reads child collections: continuation pages together, expanded children, same records."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType
from entrasnap.collect import Options
from entrasnap.fakegraph.server import FaultRule
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.graph import GraphClient, StaticToken
from entrasnap.services.snapshot import take_snapshot
from entrasnap.store import LocalBackend, Repository
from repo_tools import contents

Factory = Callable[..., RunningFakeGraph]


class _Tokens:
    async def token(self, *, refresh: bool = False) -> str:
        return "any"


def _snapshot(
    fg: RunningFakeGraph, store: Path, types: Sequence[ResourceType], options: Options
) -> tuple[Any, int]:
    """A snapshot of ``types`` and the HTTP round trips the fake answered for it."""

    async def go() -> Any:
        async with GraphClient(fg.url, _Tokens()) as client:
            repository = Repository.open(LocalBackend(store), create=True)
            outcome = await take_snapshot(
                client, repository, types, tenant_hint=fg.tenant_id, options=options
            )
        return outcome.record.data

    before = fg.fake.stats.requests
    record = asyncio.run(go())
    return record, fg.fake.stats.requests - before


def test_child_continuation_pages_are_read_together(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    """Small child pages: the same records as one page each, with their nextLinks batched round by round."""
    keys = ["groups", "servicePrincipals"]
    types = _without_expansion(catalog.resolve(keys))  # every member and owner list read per parent
    whole, whole_trips = _snapshot(fakegraph, tmp_path / "whole", types, Options())
    paged, paged_trips = _snapshot(fakegraph, tmp_path / "paged", types, Options(child_page_size=3))

    assert paged["status"] == whole["status"] == "complete"
    assert contents(tmp_path / "paged", paged) == contents(tmp_path / "whole", whole)
    continuations = sum(paged["types"][k]["requests"] - whole["types"][k]["requests"] for k in keys)
    assert continuations > 100  # enough members and owners to page
    # One after another, each continuation page would be a round trip of its own.
    assert paged_trips - whole_trips < continuations / 2


def _without_expansion(types: list[ResourceType]) -> list[ResourceType]:
    return [
        replace(t, children=tuple(replace(c, expand=False, from_delta=False) for c in t.children))
        for t in types
    ]


def test_expanded_children_equal_per_parent_reads(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    """Owners read through $expand on the list pages, per parent only where Graph's cap of 20 was reached:
    the same records as one request per parent, with far fewer requests."""
    store = fakegraph.store
    users = [u["id"] for u in store.sets["users"].after()]
    devices = [d["id"] for d in store.sets["devices"].after()]
    apps = [a["id"] for a in store.sets["applications"].after()]
    sps = [s["id"] for s in store.sets["servicePrincipals"].after()]
    groups = [g["id"] for g in store.sets["groups"].after()]
    crowded = [
        ("groups/owners", groups[0], 21),
        ("groups/members", groups[1], 19),
        ("groups/members", groups[2], 40),
        ("devices/registeredOwners", devices[0], 25),
        ("devices/registeredUsers", devices[1], 20),  # exactly the cap: cannot tell it from a cut list
        ("devices/registeredOwners", devices[2], 19),
        ("applications/owners", apps[0], 30),
        ("servicePrincipals/owners", sps[0], 21),
    ]
    for link, source, count in crowded:
        for user in users[:count]:
            store.link(link, source, user)
    for app, count in ((apps[1], 20), (apps[2], 3)):  # objects children: at the cap, and below it
        for n in range(count):
            store.add(
                f"applications/{app}/extensionProperties",
                {"id": f"{n:08d}-0000-4000-8000-{app[-12:]}", "name": f"extension_{n}", "dataType": "String"},
            )
    keys = ["groups", "devices", "applications", "servicePrincipals"]
    types = [catalog.BY_KEY[k] for k in keys]
    assert all(any(c.expand for c in t.children) for t in types)

    expanded, _ = _snapshot(fakegraph, tmp_path / "expanded", types, Options())
    per_parent, _ = _snapshot(fakegraph, tmp_path / "per-parent", _without_expansion(types), Options())

    assert expanded["status"] == per_parent["status"] == "complete"
    assert contents(tmp_path / "expanded", expanded) == contents(tmp_path / "per-parent", per_parent)
    for key in keys:
        children = expanded["types"][key].get("children")
        assert children and children == per_parent["types"][key].get("children"), key
    # devices: two requests per device without expansion; with it, a page per 100 and the two crowded ones
    assert per_parent["types"]["devices"]["requests"] >= 2 * len(devices)
    assert expanded["types"]["devices"]["requests"] <= len(devices) // 100 + 1 + 4
    # applications: owners, extension properties and federated credentials from the list pages but two
    saved = per_parent["types"]["applications"]["requests"] - expanded["types"]["applications"]["requests"]
    assert saved >= 3 * len(apps) - 2 - (len(apps) // 100 + 1)
    # service principals: owners and appRoleAssignedTo from the list pages but where a list holds 20
    assigned = Counter(a["resourceId"] for a in store.sets["appRoleAssignments"].after())
    crowded_sps = sum(1 for sp in sps if assigned[sp] >= 20) + 1
    assert 0 < crowded_sps < len(sps) // 2
    saved = (
        per_parent["types"]["servicePrincipals"]["requests"]
        - expanded["types"]["servicePrincipals"]["requests"]
    )
    assert saved >= 2 * len(sps) - crowded_sps - (len(sps) // 100 + 1)
    # groups: owners never per group here but the crowded one; members per group only from 20 on
    small = sum(1 for g in groups if len(store.linked("groups/members", g)) < 20)
    saved = per_parent["types"]["groups"]["requests"] - expanded["types"]["groups"]["requests"]
    assert saved >= len(groups) - 1 + small - (len(groups) // 100 + 1)


def _per_parent_policy_links(types: list[ResourceType]) -> list[ResourceType]:
    return [replace(t, children=tuple(replace(c, inverse=None) for c in t.children)) for t in types]


def _snapshot_as(
    fg: RunningFakeGraph, store: Path, types: Sequence[ResourceType], roles: list[str]
) -> dict[str, Any]:
    async def go() -> Any:
        async with GraphClient(fg.url, StaticToken(fg.token(roles))) as client:
            repository = Repository.open(LocalBackend(store), create=True)
            outcome = await take_snapshot(client, repository, types, tenant_hint=fg.tenant_id)
        return outcome.record.data

    data: dict[str, Any] = asyncio.run(go())
    return data


def test_policy_links_read_from_the_policies_equal_per_parent_reads(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    """Apps' and SPs' policy links from each policy's appliesTo: the same records as one request per app or
    SP and policy kind, with a handful of requests; without Policy.Read.All the types fail, never empty."""
    store = fakegraph.store
    apps = store.sets["applications"].ids()
    sps = store.sets["servicePrincipals"].ids()
    for kind, holders in (
        ("tokenIssuancePolicies", apps[:5] + sps[:5]),
        ("tokenLifetimePolicies", apps[3:9] + sps[2:4]),
        ("appManagementPolicies", apps[:2] + apps[-2:]),
        ("claimsMappingPolicies", sps[-6:]),
        ("homeRealmDiscoveryPolicies", sps[:7]),
    ):
        for index, holder in enumerate(holders):
            for policy in store.sets[f"policies/{kind}"].ids()[: 1 + index % 2]:  # some hold two of a kind
                owner = "applications" if holder in apps else "servicePrincipals"
                store.link(f"{owner}/{kind}", holder, policy)
    keys = ["applications", "servicePrincipals"]
    types = [catalog.BY_KEY[k] for k in keys]
    inverse = [c.name for t in types for c in t.children if c.inverse is not None]
    assert len(inverse) == 7

    derived, _ = _snapshot(fakegraph, tmp_path / "derived", types, Options())
    per_parent, _ = _snapshot(fakegraph, tmp_path / "per-parent", _per_parent_policy_links(types), Options())

    assert derived["status"] == per_parent["status"] == "complete"
    assert contents(tmp_path / "derived", derived) == contents(tmp_path / "per-parent", per_parent)
    for key in keys:
        children = derived["types"][key]["children"]
        assert children == per_parent["types"][key]["children"], key
    assert all(
        derived["types"][k]["children"][name] >= 4 for k in keys for name in ("tokenIssuancePolicies",)
    )
    saved = sum(per_parent["types"][k]["requests"] - derived["types"][k]["requests"] for k in keys)
    policies = sum(len(store.sets[f"policies/{kind}"]) for kind in set(inverse))
    assert saved >= 3 * len(apps) + 4 * len(sps) - (len(set(inverse)) + policies)

    roles = [p for p in catalog.permissions(types) if p != "Policy.Read.All"]
    refused = _snapshot_as(fakegraph, tmp_path / "refused", types, roles)
    for key in keys:
        entry = refused["types"][key]
        assert entry["status"] == "forbidden", entry
        assert entry["error"]["child"] in inverse
        assert entry["error"]["permission"] == "Policy.Read.All"


def _same_records(
    fg: RunningFakeGraph, tmp_path: Path, types: Sequence[ResourceType], every: Sequence[ResourceType]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Snapshots of ``types`` and of ``every`` (the same types read without a shortcut): both complete,
    holding the same records."""
    narrowed, _ = _snapshot(fg, tmp_path / "narrowed", types, Options())
    full, _ = _snapshot(fg, tmp_path / "every", every, Options())
    assert narrowed["status"] == full["status"] == "complete"
    assert contents(tmp_path / "narrowed", narrowed) == contents(tmp_path / "every", full)
    return narrowed, full


def test_pim_for_groups_skips_groups_pim_cannot_manage(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    """Dynamic and on-premises synchronized groups are not queried for PIM for groups: the same records as
    querying every group, four requests fewer per such group."""
    keys = [
        "groups",
        "groupEligibilitySchedules",
        "groupAssignmentSchedules",
        "groupRoleManagementPolicies",
        "groupRoleManagementPolicyAssignments",
    ]
    types = [catalog.BY_KEY[k] for k in keys]
    assert all(t.parent and t.parent.unless for t in types[1:])
    every = [replace(t, parent=replace(t.parent, unless=())) if t.parent else t for t in types]
    groups = list(fakegraph.store.sets["groups"].after())
    skipped = [
        g for g in groups if "DynamicMembership" in g["groupTypes"] or g.get("onPremisesSyncEnabled") is True
    ]
    assert 0 < len(skipped) < len(groups)

    narrowed, full = _same_records(fakegraph, tmp_path, types, every)
    assert sum(full["types"][k]["count"] for k in keys[1:]) > 0
    for key in keys[1:]:
        saved = full["types"][key]["requests"] - narrowed["types"][key]["requests"]
        assert saved == (0 if catalog.BY_KEY[key].through else len(skipped)), key  # policies: none asked


def test_classifications_only_for_service_principals_that_publish_scopes(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    """Delegated permission classifications are read only for SPs with oauth2PermissionScopes (a
    classification names one of them; the fake refuses others): the same records, fewer requests."""
    sps = list(fakegraph.store.sets["servicePrincipals"].after())
    publishing = [sp for sp in sps if sp.get("oauth2PermissionScopes")]
    bare = next(sp for sp in sps if not sp.get("oauth2PermissionScopes"))
    assert 0 < len(publishing) < len(sps)
    with fakegraph.client() as client:
        body = {"classification": "low", "permissionId": str(uuid.uuid4()), "permissionName": "X.Read"}
        answer = client.post(
            f"/v1.0/servicePrincipals/{bare['id']}/delegatedPermissionClassifications", json=body
        )
        assert answer.status_code == 400, answer.text
        scope = publishing[-1]["oauth2PermissionScopes"][0]
        body = {"classification": "low", "permissionId": scope["id"], "permissionName": scope["value"]}
        answer = client.post(
            f"/v1.0/servicePrincipals/{publishing[-1]['id']}/delegatedPermissionClassifications", json=body
        )
        assert answer.status_code == 201, answer.text
    types = [catalog.BY_KEY["servicePrincipals"]]
    every = [replace(types[0], children=tuple(replace(c, only=None) for c in types[0].children))]

    narrowed, full = _same_records(fakegraph, tmp_path, types, every)
    assert narrowed["types"]["servicePrincipals"]["children"]["delegatedPermissionClassifications"] >= 7
    saved = (
        full["types"]["servicePrincipals"]["requests"] - narrowed["types"]["servicePrincipals"]["requests"]
    )
    assert saved == len(sps) - len(publishing)


def test_group_settings_not_read_for_synchronized_groups_that_cannot_have_them(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    """Group-specific settings exist only on Microsoft 365 and cloud security groups: a group synchronized
    from on-premises that is not a Microsoft 365 group is not asked (the fake refuses to create one there);
    the same records as asking every group, one request fewer per such group."""
    from entrasnap.fakegraph.areas.directory import GROUP_UNIFIED_GUEST_TEMPLATE

    groups = list(fakegraph.store.sets["groups"].after())
    synced = [g for g in groups if g.get("onPremisesSyncEnabled") and "Unified" not in g["groupTypes"]]
    unified = [g for g in groups if "Unified" in g["groupTypes"]]
    assert 0 < len(synced) < len(groups)
    body = {
        "templateId": GROUP_UNIFIED_GUEST_TEMPLATE,
        "values": [{"name": "AllowToAddGuests", "value": "true"}],
    }
    with fakegraph.client() as client:
        refused = client.post(f"/v1.0/groups/{synced[0]['id']}/settings", json=body)
        assert refused.status_code == 400, refused.text
        created = client.post(f"/v1.0/groups/{unified[-1]['id']}/settings", json=body)
        assert created.status_code == 201, created.text
    types = [catalog.BY_KEY["groups"]]
    assert any(c.without for c in types[0].children)
    every = [replace(types[0], children=tuple(replace(c, without=None) for c in types[0].children))]

    narrowed, full = _same_records(fakegraph, tmp_path, types, every)
    assert narrowed["types"]["groups"]["children"]["settings"] >= 2
    saved = full["types"]["groups"]["requests"] - narrowed["types"]["groups"]["requests"]
    assert saved == len(synced)


def test_group_policies_come_expanded_with_their_assignments(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    """PIM for groups' policies (with their rules) come with each group's policy assignments
    (``$expand=policy($expand=rules)``) and role policies with their rules (``$expand=rules``): the same
    records as reading them per group and per policy; a failed read of the assignments fails the policies."""
    keys = [
        "groups",
        "roleManagementPolicies",
        "groupRoleManagementPolicies",
        "groupRoleManagementPolicyAssignments",
    ]
    types = [catalog.BY_KEY[k] for k in keys]
    assert types[2].through is not None and types[2].through.type == keys[3]
    every = [
        replace(t, through=None, children=tuple(replace(c, expand=False) for c in t.children))
        if t.key != "groups"
        else t
        for t in types
    ]
    narrowed, full = _same_records(fakegraph, tmp_path, types, every)

    policies = narrowed["types"]["groupRoleManagementPolicies"]
    assert policies["count"] >= 6 and policies["children"]["rules"] == 17 * policies["count"]
    assert policies["requests"] == 0
    assert full["types"]["groupRoleManagementPolicies"]["requests"] > 2 * policies["count"]
    assignments = "groupRoleManagementPolicyAssignments"
    assert narrowed["types"][assignments]["requests"] == full["types"][assignments]["requests"]
    assert narrowed["types"]["roleManagementPolicies"]["requests"] == 1
    assert full["types"]["roleManagementPolicies"]["requests"] > 20

    broken = [replace(t, path=t.path + "Missing") if t.key == assignments else t for t in types]
    failed, _ = _snapshot(fakegraph, tmp_path / "failed", broken, Options())
    assert failed["types"][assignments]["status"] == "error"
    entry = failed["types"]["groupRoleManagementPolicies"]
    assert entry["status"] == "error" and assignments in entry["error"]["message"], entry
    roles = [p for p in catalog.permissions(types) if not p.startswith("RoleManagementPolicy.")]
    refused = _snapshot_as(fakegraph, tmp_path / "refused", types, roles)
    for key in keys[1:]:
        assert refused["types"][key]["status"] == "forbidden", refused["types"][key]


def test_group_members_come_from_the_initial_delta_round(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    """A full read of groups takes every member list from /groups/delta's initial round (a long list spread
    over several pages is joined) and owners from the list pages: the same records as expanding members on
    the list and reading per group those that reached Graph's cap of 20, with fewer requests."""
    from entrasnap.collect.incremental import delta_params

    store = fakegraph.store
    groups = store.sets["groups"].ids()
    capped = sum(1 for g in groups if len(store.linked("groups/members", g)) >= 20)
    assert capped > 0
    types = [catalog.BY_KEY["groups"]]
    assert any(c.from_delta for c in types[0].children)
    every = [replace(types[0], children=tuple(replace(c, from_delta=False) for c in types[0].children))]
    narrowed, full = _same_records(fakegraph, tmp_path, types, every)

    rounds = 0
    with fakegraph.client() as client:
        url: str | None = (
            f"/v1.0/groups/delta?{'&'.join(f'{k}={v}' for k, v in delta_params(types[0]).items())}"
        )
        while url:
            rounds += 1
            url = client.get(url).json().get("@odata.nextLink")
    saved = full["types"]["groups"]["requests"] - narrowed["types"]["groups"]["requests"]
    assert (
        saved == 1 + capped - rounds > 0
    )  # the delta link from "latest" and the capped lists, for the round
    assert narrowed["types"]["groups"]["children"] == full["types"]["groups"]["children"]

    assert narrowed["types"]["groups"]["delta"]["link"]

    fakegraph.fake.engine.delta_member_slice = 7  # most member lists over several pages
    sliced, _ = _snapshot(fakegraph, tmp_path / "sliced", types, Options())
    assert sliced["types"]["groups"]["requests"] > narrowed["types"]["groups"]["requests"] + 10
    assert contents(tmp_path / "sliced", sliced) == contents(tmp_path / "every", full)

    # a round slower than the list: the groups at the cap wait for it
    fakegraph.fake.rules.append(FaultRule("^/groups/delta$", "slow", times=10**6, delay_ms=40))
    slow, _ = _snapshot(fakegraph, tmp_path / "slow", types, Options())
    fakegraph.fake.rules.clear()
    assert contents(tmp_path / "slow", slow) == contents(tmp_path / "every", full)
    # a round failing at once: a delta link from now, then the list and the capped lists per group
    fakegraph.fake.rules.append(FaultRule("^/groups/delta$", "400", times=1))
    failed, _ = _snapshot(fakegraph, tmp_path / "failed", types, Options())
    assert contents(tmp_path / "failed", failed) == contents(tmp_path / "every", full)
    assert failed["types"]["groups"]["requests"] == full["types"]["groups"]["requests"] + 1
    assert failed["types"]["groups"]["delta"]["link"]
