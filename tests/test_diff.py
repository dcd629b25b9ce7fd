"""entrasnap diff: change records, names, risk flags and renderings on real snapshot sequences of fakegraph.

One repository is shared by the module: snapshot 0; snapshot 1 with nothing changed; known mutations;
snapshot 2; snapshot 3 with a token lacking the Policy.* permissions (Conditional Access forbidden).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from entrasnap import catalog
from entrasnap.cli.main import app
from entrasnap.fakegraph import mutate
from entrasnap.fakegraph.service import RunningFakeGraph, start
from entrasnap.graph import GraphClient, StaticToken
from entrasnap.services import risk
from entrasnap.services.diff import SnapshotDiff, diff_snapshots
from entrasnap.services.snapshot import take_snapshot
from entrasnap.services.timeline import CachedRepository
from entrasnap.store import LocalBackend, Repository, SnapshotRecord, StoreError
from repo_tools import damage

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
CA_SET = "identity/conditionalAccess/policies"
JSON = dict[str, Any]


@dataclass
class World:
    fake: RunningFakeGraph
    root: Path
    repo: Repository
    records: list[SnapshotRecord]
    ids: dict[str, str]  # role of an object in the scenario -> its id
    names: dict[str, str]  # id -> display name at the time of the mutation


def _snapshot(fake: RunningFakeGraph, repo: Repository, roles: list[str] | None = None) -> SnapshotRecord:
    async def run() -> SnapshotRecord:
        client = GraphClient(fake.url, StaticToken(fake.token(roles)))
        try:
            outcome = await take_snapshot(
                client, repo, list(catalog.CATALOG), tenant_hint=fake.tenant_id, graph_url=fake.url
            )
        finally:
            await client.aclose()
        return outcome.record

    return asyncio.run(run())


def _by_name(fake: RunningFakeGraph, key: str, name: str) -> str:
    entity_set = fake.store.sets[key]
    return next(i for i in entity_set.ids() if (entity_set.get(i) or {}).get("displayName") == name)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    fake = start(time_scale=0.02, throttling=False)
    root = tmp_path_factory.mktemp("diff-repo")
    repo = Repository.open(LocalBackend(root), create=True)
    try:
        records = [_snapshot(fake, repo), _snapshot(fake, repo)]
        store = fake.store
        users = store.sets["users"].ids()
        groups = store.sets["groups"]
        ids = {
            "policy": _by_name(fake, CA_SET, "CA005: Sign-in risk — require MFA"),
            "mfaPolicy": _by_name(fake, CA_SET, "CA003: Require MFA for all users"),
            "excluded": _by_name(fake, "groups", "Finance Admins"),
            "app": store.sets["applications"].ids()[0],
            "owner": users[3],
            "member": users[4],
            "renamed": users[5],
            "eligible": users[6],
        }
        member_group = next(
            g
            for g in groups.ids()
            if g != ids["excluded"] and ids["member"] not in store.linked("groups/members", g)
        )
        ids["memberGroup"] = member_group
        ids["deleted"] = next(g for g in reversed(groups.ids()) if g not in (ids["excluded"], member_group))
        names = {i: str((store.resolve(i) or ("", {}))[1].get("displayName")) for i in ids.values()}
        with fake.fake.lock:
            mutate.apply(store, {"action": "report_only_ca", "id": ids["policy"]})
            mutate.apply(store, {"action": "ca_exclude", "id": ids["policy"], "principal": ids["excluded"]})
            policy = store.sets[CA_SET].get(ids["mfaPolicy"]) or {}
            grant = {**policy["grantControls"], "builtInControls": ["compliantDevice"]}
            mutate.apply(
                store,
                {
                    "action": "update",
                    "id": ids["mfaPolicy"],
                    "set": CA_SET,
                    "values": {"grantControls": grant},
                },
            )
            mutate.apply(
                store, {"action": "add_password", "id": ids["app"], "displayName": "Backdoor secret"}
            )
            mutate.apply(store, {"action": "add_member", "group": member_group, "member": ids["member"]})
            mutate.apply(store, {"action": "delete", "id": ids["deleted"]})
            mutate.apply(
                store,
                {
                    "action": "add_pim_eligibility",
                    "principal": ids["eligible"],
                    "roleDefinitionId": GLOBAL_ADMIN,
                },
            )
            mutate.apply(store, {"action": "rename", "id": ids["renamed"], "displayName": "Renamed Person"})
        with fake.client() as http:  # a new owner, written over Graph
            answer = http.post(
                f"/v1.0/applications/{ids['app']}/owners/$ref",
                json={"@odata.id": f"{fake.url}/v1.0/directoryObjects/{ids['owner']}"},
            )
            assert answer.status_code == 204, answer.text
        records.append(_snapshot(fake, repo))
        no_policy = [p for p in fake.fake.all_permissions() if not p.startswith("Policy.")]
        records.append(_snapshot(fake, repo, no_policy))
        yield World(fake, root, repo, records, ids, names)
    finally:
        fake.stop()


def _diff(world: World, a: int, b: int, **kwargs: Any) -> SnapshotDiff:
    return diff_snapshots(CachedRepository(world.repo), world.records[a], world.records[b], **kwargs)


def _type(doc: JSON, key: str) -> JSON:
    return next(t for t in doc["types"] if t["type"] == key)


def _modified(doc: JSON, key: str, object_id: str) -> JSON:
    return next(m for m in _type(doc, key)["modified"] if m["id"] == object_id)


def _risk_ids(entry: JSON) -> list[str]:
    return sorted(r["id"] for r in entry.get("risks", []))


def run_cli(world: World, *args: str) -> Any:
    return CliRunner().invoke(app, ["diff", *args, "--store", str(world.root)])


# --- change records ---------------------------------------------------------------------------------


def test_ca_policy_report_only_and_group_exclusion(world: World) -> None:
    doc = _diff(world, 1, 2).as_json()
    policy = _modified(doc, "conditionalAccessPolicies", world.ids["policy"])
    group = world.ids["excluded"]
    assert policy["name"] == "CA005: Sign-in risk — require MFA"
    assert policy["changes"] == [
        {
            "path": "conditions.users.excludeGroups",
            "kind": "members",
            "before": None,
            "after": None,
            "added": [group],
            "removed": [],
            "names": {group: "Finance Admins"},
            "noise": False,
            "risks": [
                {
                    "id": "ca.exclusion-added.groups",
                    "severity": "high",
                    "reason": "groups were excluded from a Conditional Access policy",
                    "path": "conditions.users.excludeGroups",
                }
            ],
        },
        {
            "path": "state",
            "kind": "changed",
            "before": "enabled",
            "after": "enabledForReportingButNotEnforced",
            "added": [],
            "removed": [],
            "names": {},
            "noise": False,
            "risks": [
                {
                    "id": "ca.policy-report-only",
                    "severity": "high",
                    "reason": "an enforced Conditional Access policy was switched to report-only",
                    "path": "state",
                }
            ],
        },
    ]  # modifiedDateTime changed too: noise, hidden
    assert _risk_ids(policy) == ["ca.exclusion-added.groups", "ca.policy-report-only"]
    mfa = _modified(doc, "conditionalAccessPolicies", world.ids["mfaPolicy"])
    assert [(c["path"], c["added"], c["removed"]) for c in mfa["changes"]] == [
        ("grantControls.builtInControls", ["compliantDevice"], ["mfa"])
    ]
    assert _risk_ids(mfa) == ["ca.mfa-removed"]


def test_text_shows_the_excluded_group_by_name(world: World) -> None:
    result = run_cli(world, world.records[1].id, world.records[2].id, "--format", "text")
    assert result.exit_code == 0, result.output
    assert "conditions.users.excludeGroups: + Finance Admins" in result.output
    assert "state: enabled → enabledForReportingButNotEnforced" in result.output
    assert "ca.policy-report-only" in result.output
    assert world.ids["excluded"] not in result.output  # named, not shown as a GUID


def test_application_new_password_and_owner(world: World) -> None:
    doc = _diff(world, 1, 2).as_json()
    app_change = _modified(doc, "applications", world.ids["app"])
    owner = world.ids["owner"]
    by_path = {c["path"].split("[")[0]: c for c in app_change["changes"]}
    assert set(by_path) == {"passwordCredentials", "owners"}
    secret = by_path["passwordCredentials"]
    assert secret["kind"] == "added" and secret["after"]["displayName"] == "Backdoor secret"
    assert secret["path"] == f"passwordCredentials[{secret['after']['keyId']}]"
    assert by_path["owners"] == {
        "path": "owners",
        "kind": "members",
        "before": None,
        "after": None,
        "added": [owner],
        "removed": [],
        "names": {owner: world.names[owner]},
        "noise": False,
        "risks": [
            {
                "id": "app.owner-added",
                "severity": "medium",
                "reason": "a new owner can manage the application's credentials and settings",
                "path": "owners",
            }
        ],
    }
    assert _risk_ids(app_change) == ["app.owner-added", "app.password-added"]


def test_user_added_to_group_is_named(world: World) -> None:
    doc = _diff(world, 1, 2).as_json()
    member = world.ids["member"]
    group = _modified(doc, "groups", world.ids["memberGroup"])
    assert group["name"] == world.names[world.ids["memberGroup"]]
    members = next(c for c in group["changes"] if c["path"] == "members")
    assert (members["added"], members["removed"]) == ([member], [])
    assert members["names"] == {member: world.names[member]}
    assert group["risks"] == []


def test_deleted_group_keeps_its_name(world: World) -> None:
    doc = _diff(world, 1, 2).as_json()
    gone = world.ids["deleted"]
    assert {"id": gone, "name": world.names[gone]} in _type(doc, "groups")["removed"]
    text = run_cli(world, world.records[1].id, world.records[2].id, "--format", "text").output
    assert f"- {world.names[gone]} {gone}" in text


def test_new_global_administrator_eligibility(world: World) -> None:
    doc = _diff(world, 1, 2).as_json()
    added = _type(doc, "roleEligibilitySchedules")["added"]
    assert len(added) == 1
    assert added[0]["name"] == f"Global Administrator → {world.names[world.ids['eligible']]}"
    assert added[0]["risks"] == [
        {
            "id": "role.privileged-eligibility",
            "severity": "high",
            "reason": "a new PIM eligibility for a privileged directory role",
        }
    ]


def test_renamed_user(world: World) -> None:
    doc = _diff(world, 1, 2).as_json()
    user = _modified(doc, "users", world.ids["renamed"])
    assert user["name"] == "Renamed Person"
    assert user["changes"] == [
        {
            "path": "displayName",
            "kind": "changed",
            "before": world.names[world.ids["renamed"]],
            "after": "Renamed Person",
            "added": [],
            "removed": [],
            "names": {},
            "noise": False,
        }
    ]


def test_noise_hidden_unless_all(world: World) -> None:
    hidden = _diff(world, 1, 2).as_json()
    shown = _diff(world, 1, 2, all_properties=True).as_json()
    policy_hidden = _modified(hidden, "conditionalAccessPolicies", world.ids["policy"])
    policy_shown = _modified(shown, "conditionalAccessPolicies", world.ids["policy"])
    assert "modifiedDateTime" not in [c["path"] for c in policy_hidden["changes"]]
    noise = [c for c in policy_shown["changes"] if c["path"] == "modifiedDateTime"]
    assert len(noise) == 1 and noise[0]["noise"] is True
    result = run_cli(world, world.records[1].id, world.records[2].id, "--format", "text", "--all")
    assert "modifiedDateTime" in result.output and "(noise)" in result.output


def test_not_captured_is_never_a_deletion(world: World) -> None:
    doc = _diff(world, 2, 3).as_json()
    assert {
        "type": "conditionalAccessPolicies",
        "title": "Conditional Access policies",
        "from": "ok",
        "to": "forbidden",
    } in doc["notCaptured"]
    assert "conditionalAccessPolicies" not in [t["type"] for t in doc["types"]]
    assert not any(t["removed"] for t in doc["types"])  # nothing else changed between 2 and 3
    assert doc["summary"]["removed"] == 0
    text = run_cli(world, world.records[2].id, world.records[3].id, "--format", "text").output
    assert "Not captured" in text and "conditionalAccessPolicies): ok → forbidden" in text


def test_worker_processes_give_the_same_diff(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    from entrasnap.services import diff as diff_module

    pools: list[str] = []
    original = multiprocessing.get_context

    def get_context(method: str) -> Any:
        pools.append(method)
        return original(method)

    one = _diff(world, 0, 2, workers=1).as_json()
    monkeypatch.setattr(diff_module.multiprocessing, "get_context", get_context)
    two = _diff(world, 0, 2, workers=2).as_json()
    assert pools == ["fork"]  # the modified objects really were compared in forked workers
    assert one["summary"]["modified"] >= 2 and two == one


def test_types_read_in_steps_give_the_same_diff(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from entrasnap.services import diff as diff_module

    whole = _diff(world, 0, 2, workers=1).as_json()
    steps: list[int] = []
    original = diff_module._differing_chunks

    def counted(*args: Any, **kwargs: Any) -> list[tuple[list[str], list[str]]]:
        parts = original(*args, **kwargs)
        steps.append(len(parts))
        return parts

    monkeypatch.setattr(diff_module, "SLICE", 1)
    monkeypatch.setattr(diff_module, "_differing_chunks", counted)
    for workers in (1, 2):
        assert _diff(world, 0, 2, workers=workers).as_json() == whole
    assert max(steps) > 1  # some type really was read chunk by chunk


def test_changes_cross_from_workers_whole(world: World) -> None:
    from entrasnap.services.diff import _flat, _unflat

    objects = [o for t in _diff(world, 0, 2, workers=1).types for o in t.modified]
    assert objects
    for obj in objects:
        for pc in obj.changes:
            pc.names = {}  # named later, in the parent process
        back, noise_only = _unflat(_flat((obj, False)))
        assert back == obj and not noise_only
        assert [pc.guids() for pc in back.changes] == [pc.guids() for pc in obj.changes]
        assert [(pc.change.refs, pc.change.object_ids) for pc in back.changes] == [
            (pc.change.refs, pc.change.object_ids) for pc in obj.changes
        ]
    assert _unflat(_flat((None, True))) == (None, True)


def test_exit_code(world: World) -> None:
    changed = run_cli(world, world.records[1].id, world.records[2].id, "--exit-code", "--format", "json")
    assert changed.exit_code == 1, changed.output
    same = run_cli(world, world.records[0].id, world.records[1].id, "--exit-code", "--format", "json")
    assert same.exit_code == 0, same.output
    assert json.loads(same.output)["types"] == []
    itself = run_cli(world, "latest", "latest", "--exit-code")
    assert itself.exit_code == 0
    without_flag = run_cli(world, world.records[1].id, world.records[2].id, "--format", "json")
    assert without_flag.exit_code == 0
    unknown = run_cli(world, "not-a-snapshot", "latest", "--exit-code")
    assert unknown.exit_code == 2 and "no snapshot 'not-a-snapshot'" in unknown.output
    before_first = run_cli(world, "2001-01-01", "latest")
    assert before_first.exit_code == 2 and "before the first snapshot" in before_first.output
    bad_type = run_cli(world, "previous", "latest", "--types", "nonsense")
    assert bad_type.exit_code == 2


def test_risky_only_and_types(world: World) -> None:
    doc = _diff(world, 1, 2).only_risky().as_json()
    shown = {
        (t["type"], o["id"])
        for t in doc["types"]
        for part in ("added", "removed", "modified")
        for o in t[part]
    }
    assert (("users", world.ids["renamed"])) not in shown
    assert ("conditionalAccessPolicies", world.ids["policy"]) in shown
    assert ("applications", world.ids["app"]) in shown
    assert all(o.get("risks") for t in doc["types"] for p in ("added", "removed", "modified") for o in t[p])
    result = run_cli(
        world,
        world.records[1].id,
        world.records[2].id,
        "--risky-only",
        "--format",
        "json",
        "--types",
        "users,groups",
    )
    assert json.loads(result.output)["types"] == []
    result = run_cli(world, world.records[1].id, world.records[2].id, "--format", "json", "--types", "groups")
    assert [t["type"] for t in json.loads(result.output)["types"]] == ["groups"]


# --- renderings -------------------------------------------------------------------------------------


def _check_shape(doc: JSON) -> None:
    """The shape docs/DIFF.md documents."""
    assert doc["format"] == 1
    assert set(doc) == {"format", "from", "to", "options", "summary", "types", "notCaptured"}
    for side in ("from", "to"):
        assert set(doc[side]) == {"id", "started", "status", "tenant"}
    assert set(doc["summary"]) == {
        "types",
        "added",
        "removed",
        "modified",
        "risks",
        "bySeverity",
        "notCaptured",
        "noiseHidden",
    }
    risk_keys = {"id", "severity", "reason"}
    for t in doc["types"]:
        assert set(t) == {"type", "title", "status", "added", "removed", "modified", "noiseHidden"}
        assert set(t["status"]) == {"from", "to"}
        for part in ("added", "removed"):
            for obj in t[part]:
                assert set(obj) - {"risks"} == {"id", "name"}
        for obj in t["modified"]:
            assert set(obj) == {"id", "name", "changes", "risks"}
            for r in obj["risks"]:
                assert risk_keys <= set(r) <= risk_keys | {"path"}
            for c in obj["changes"]:
                assert set(c) - {"risks"} == {
                    "path",
                    "kind",
                    "before",
                    "after",
                    "added",
                    "removed",
                    "names",
                    "noise",
                }
                assert c["kind"] in ("added", "removed", "changed", "members")
    for n in doc["notCaptured"]:
        assert set(n) == {"type", "title", "from", "to"}


def test_formats_render(world: World, tmp_path: Path) -> None:
    a, b = world.records[1].id, world.records[3].id
    result = run_cli(world, a, b, "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    _check_shape(doc)
    flagged = sorted(
        r["id"]
        for t in doc["types"]
        for p in ("added", "removed", "modified")
        for o in t[p]
        for r in o.get("risks", [])
    )
    # Without Policy.* permissions applications cannot be read whole (their token and policy links need
    # Policy.Read.All, as Microsoft documents for both sides of the link): their changes are not captured.
    not_captured = {n["type"]: n["to"] for n in doc["notCaptured"]}
    assert not_captured["applications"] == not_captured["conditionalAccessPolicies"] == "forbidden"
    assert flagged == ["role.privileged-eligibility"]
    assert doc["summary"]["risks"] == 1 and doc["summary"]["bySeverity"] == {"high": 1, "medium": 0, "low": 0}

    html_file = tmp_path / "diff.html"
    assert run_cli(world, a, b, "--output", str(html_file)).exit_code == 0
    page = html_file.read_text(encoding="utf-8")

    class Parser(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.external: list[str] = []
            self.text: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in ("br", "meta"):
                self.stack.append(tag)
            self.external += [v or "" for k, v in attrs if k in ("src", "href")]

        def handle_endtag(self, tag: str) -> None:
            assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
            self.stack.pop()

        def handle_data(self, data: str) -> None:
            self.text.append(data)

    parser = Parser()
    parser.feed(page)
    assert parser.stack == [] and parser.external == []
    text = " ".join(parser.text)
    assert text.index("Risk flags") < text.index("App registrations")
    assert world.names[world.ids["deleted"]] in text and "Not captured" in text and "forbidden" in text
    assert 'class="sev sev-high"' in page

    markdown = run_cli(world, a, world.records[2].id, "--format", "markdown").output
    headings = re.findall(r"^#+ .*$", markdown, re.MULTILINE)
    assert headings[:2] == ["# Changes between snapshots", "## Risk flags"]
    assert "## Not captured" in headings and "### Modified" in headings and "### Removed" in headings
    assert "**HIGH**" in markdown and "+ Finance Admins" in markdown


# --- rules on their own -------------------------------------------------------------------------------


def _rec(obj: JSON, **children: Any) -> JSON:
    return {"id": "x", "object": obj, "children": children}


@pytest.mark.parametrize(
    ("key", "before", "after", "expected"),
    [
        ("securityDefaults", {"isEnabled": True}, {"isEnabled": False}, ["policy.security-defaults-off"]),
        ("securityDefaults", {"isEnabled": False}, {"isEnabled": True}, []),
        (
            "authorizationPolicy",
            {"allowInvitesFrom": "adminsAndGuestInviters"},
            {"allowInvitesFrom": "everyone"},
            ["authz.invites-widened"],
        ),
        ("authorizationPolicy", {"allowInvitesFrom": "everyone"}, {"allowInvitesFrom": "none"}, []),
        (
            "authorizationPolicy",
            {"defaultUserRolePermissions": {"allowedToCreateApps": False}},
            {"defaultUserRolePermissions": {"allowedToCreateApps": True}},
            ["authz.users-create-apps"],
        ),
        (
            "authorizationPolicy",
            {"guestUserRoleId": "2af84b1e-32c8-42b7-82bc-daa82404023b"},
            {"guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3"},
            ["authz.guest-access-widened"],
        ),
        (
            "crossTenantAccessPolicyDefault",
            {
                "b2bCollaborationInbound": {"usersAndGroups": {"accessType": "blocked"}},
                "inboundTrust": {"isMfaAccepted": False},
            },
            {
                "b2bCollaborationInbound": {"usersAndGroups": {"accessType": "allowed"}},
                "inboundTrust": {"isMfaAccepted": True},
            },
            ["crossTenant.b2bCollaborationInbound-usersAndGroups-allowed", "crossTenant.trust-mfa"],
        ),
        (
            "conditionalAccessPolicies",
            {"state": "enabled", "grantControls": {"authenticationStrength": {"id": "s"}}},
            {"state": "enabled", "grantControls": None},
            ["ca.auth-strength-removed"],
        ),
        ("conditionalAccessPolicies", {"state": "enabled"}, {"state": "disabled"}, ["ca.policy-disabled"]),
        (
            "conditionalAccessPolicies",
            {"state": "disabled"},
            {"state": "enabledForReportingButNotEnforced"},
            [],
        ),
        (
            "conditionalAccessPolicies",
            {"conditions": {"users": {"excludeGuestsOrExternalUsers": None}}},
            {
                "conditions": {
                    "users": {
                        "excludeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest"}
                    }
                }
            },
            ["ca.exclusion-added.guests"],
        ),
        (
            "servicePrincipals",
            {"keyCredentials": []},
            {"keyCredentials": [{"keyId": "k1"}]},
            ["app.key-added"],
        ),
        ("servicePrincipals", {"keyCredentials": [{"keyId": "k1"}]}, {"keyCredentials": []}, []),
    ],
)
def test_modified_rules(key: str, before: JSON, after: JSON, expected: list[str]) -> None:
    assert sorted(f.id for f in risk.assess(key, "modified", _rec(before), _rec(after))) == expected


def test_object_rules() -> None:
    assert [
        f.id for f in risk.assess("conditionalAccessPolicies", "removed", _rec({"state": "enabled"}), None)
    ] == ["ca.policy-deleted"]
    assert risk.assess("conditionalAccessPolicies", "removed", _rec({"state": "disabled"}), None) == []
    assignment = _rec({"roleDefinitionId": "e8611ab8-c189-46e8-94e1-60213ab1f814", "principalId": "p"})
    assert [f.id for f in risk.assess("roleAssignments", "added", None, assignment)] == [
        "role.privileged-assignment"
    ]
    reader = _rec({"roleDefinitionId": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "principalId": "p"})
    assert risk.assess("roleAssignments", "added", None, reader) == []
    role = {"roleTemplateId": GLOBAL_ADMIN}
    assert [
        f.id
        for f in risk.assess(
            "directoryRoles", "modified", _rec(role, members=["a"]), _rec(role, members=["a", "b"])
        )
    ] == ["role.privileged-member"]


def test_every_rule_is_documented() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "DIFF.md").read_text(encoding="utf-8")
    missing = [rule.id for rule in risk.RULES if f"`{rule.id}`" not in doc]
    assert missing == []


def test_default_format_on_a_pipe_is_json_and_output_suffix_chooses(world: World, tmp_path: Path) -> None:
    result = run_cli(world, world.records[1].id, world.records[2].id)
    assert json.loads(result.output)["format"] == 1
    target = tmp_path / "changes.md"
    assert run_cli(world, world.records[1].id, world.records[2].id, "-o", str(target)).exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("# Changes between snapshots")


def test_damaged_repository_exits_2(world: World, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(world.root, copy)
    before, after = world.records[1], world.records[2]
    repository = Repository.open(LocalBackend(copy))
    chunk = next(c for c in repository.chunks(after, "users") if c not in repository.chunks(before, "users"))
    damage(copy, chunk)
    result = CliRunner().invoke(app, ["diff", before.id, after.id, "--store", str(copy), "--exit-code"])
    assert result.exit_code == 2
    assert chunk in result.output


def test_damaged_record_in_a_worker_is_the_same_clear_error(world: World, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(world.root, copy)
    before, after = world.records[0], world.records[2]
    repository = Repository.open(LocalBackend(copy))
    old = dict(repository.entries(before, "users"))
    new = dict(repository.entries(after, "users"))
    record = next(h for oid, h in new.items() if oid in old and old[oid] != h)  # a modified user
    damage(copy, record)
    for workers in (1, 2):
        with pytest.raises(StoreError, match=record):
            diff_snapshots(
                CachedRepository(Repository.open(LocalBackend(copy))), before, after, workers=workers
            )


def test_cli_format_choices_match_the_renderers() -> None:
    from entrasnap.cli.diff_cmd import FORMATS as CLI_FORMATS
    from entrasnap.services.render_diff import FORMATS as RENDER_FORMATS

    assert CLI_FORMATS == RENDER_FORMATS
