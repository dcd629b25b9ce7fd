"""``entrasnap show`` and ``history`` on a real repository of fakegraph snapshots with known changes."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from entrasnap import catalog
from entrasnap.cli import timeline_cmd
from entrasnap.cli.main import app
from entrasnap.fakegraph import mutate
from entrasnap.fakegraph.service import RunningFakeGraph, start
from entrasnap.graph import GraphClient, StaticToken
from entrasnap.services.history import object_history
from entrasnap.services.snapshot import take_snapshot
from entrasnap.services.timeline import CachedRepository, SnapshotView, tenant_records
from entrasnap.store import LocalBackend, Repository, SnapshotRecord
from repo_tools import damage

runner = CliRunner()


@dataclass
class Scenario:
    store: Path
    snapshots: list[SnapshotRecord]
    user_id: str
    old_name: str
    new_name: str
    member_id: str
    member_name: str
    group_id: str
    group_name: str
    deleted_group_id: str
    deleted_group_name: str
    policy_id: str
    policy_name: str


def snapshot(
    running: RunningFakeGraph, repository: Repository, roles: list[str] | None = None
) -> SnapshotRecord:
    async def run() -> SnapshotRecord:
        client = GraphClient(running.url, StaticToken(running.token(roles)))
        try:
            outcome = await take_snapshot(
                client,
                repository,
                list(catalog.CATALOG),
                tenant_hint=running.tenant_id,
                graph_url=running.url,
            )
        finally:
            await client.aclose()
        return outcome.record

    return asyncio.run(run())


def first(running: RunningFakeGraph, url: str, params: dict[str, str]) -> dict[str, Any]:
    with running.client() as http:
        response = http.get(url, params=params)
        response.raise_for_status()
        value: dict[str, Any] = response.json()["value"][0]
        return value


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    running = start(time_scale=0.02, throttling=False)
    try:
        store = tmp_path_factory.mktemp("history") / "repo"
        repository = Repository.open(LocalBackend(store), create=True)
        user = first(running, "/v1.0/users", {"$top": "1", "$filter": "accountEnabled eq true"})
        member = [u for u in running.store.sets["users"].after() if u["id"] != user["id"]][3]
        groups = [g for g in running.store.sets["groups"].after() if g["displayName"] != "Finance Admins"]
        group, doomed = groups[1], groups[2]
        policy = next(
            p for p in running.store.sets[mutate.CA_POLICIES].after() if p.get("state") == "enabled"
        )
        records = [snapshot(running, repository)]

        new_name = f"{user['displayName']} (renamed)"
        with running.client() as http:
            assert http.patch(f"/v1.0/users/{user['id']}", json={"displayName": new_name}).status_code == 204
            ref = {"@odata.id": f"{running.url}/v1.0/directoryObjects/{member['id']}"}
            assert http.post(f"/v1.0/groups/{group['id']}/members/$ref", json=ref).status_code == 204
            assert http.delete(f"/v1.0/groups/{doomed['id']}").status_code == 204
        with running.fake.lock:
            mutate.apply(running.store, {"action": "disable_ca", "id": policy["id"]})
        records.append(snapshot(running, repository))

        with running.client() as http:
            restored = http.post(f"/v1.0/directory/deletedItems/{doomed['id']}/restore")
            assert restored.status_code == 200, restored.text
        without_policy = [p for p in running.fake.all_permissions() if p != "Policy.Read.All"]
        records.append(snapshot(running, repository, without_policy))
        records.append(snapshot(running, repository))
        assert records[2].types["conditionalAccessPolicies"]["status"] == "forbidden"
        yield Scenario(
            store,
            records,
            user["id"],
            user["displayName"],
            new_name,
            member["id"],
            member["displayName"],
            group["id"],
            group["displayName"],
            doomed["id"],
            doomed["displayName"],
            policy["id"],
            policy["displayName"],
        )
    finally:
        running.stop()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def ok_json(*args: str) -> Any:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def started(record: SnapshotRecord) -> str:
    return str(record.data["started"])


# --- show ------------------------------------------------------------------------------------------


def test_show_by_id_and_by_name_at_each_snapshot(scenario: Scenario) -> None:
    store = str(scenario.store)
    first_snap, second, *_ = scenario.snapshots
    before = ok_json("show", "users", scenario.user_id, "--at", started(first_snap), "--store", store)
    assert before["snapshot"] == {"id": first_snap.id, "started": started(first_snap)}
    assert (before["id"], before["name"]) == (scenario.user_id, scenario.old_name)
    assert before["object"]["displayName"] == scenario.old_name
    assert set(before) >= {"type", "id", "name", "snapshot", "object", "children"}
    by_old_name = ok_json("show", "USERS", scenario.old_name, "--at", first_snap.id[:8], "--store", store)
    assert by_old_name["id"] == scenario.user_id
    after = ok_json("show", "users", scenario.new_name, "--at", started(second), "--store", store)
    assert after["object"]["displayName"] == scenario.new_name and after["snapshot"]["id"] == second.id
    latest = ok_json("show", "users", scenario.user_id, "--store", store)
    assert latest["snapshot"]["id"] == scenario.snapshots[-1].id
    # The old name no longer exists in the latest snapshot: a clear error with a close match.
    result = cli("show", "users", scenario.old_name, "--store", store)
    assert result.exit_code == 1 and "no users with id or name" in result.output
    assert "Traceback" not in result.output


def test_show_group_children_with_names(scenario: Scenario) -> None:
    store = str(scenario.store)
    shown = ok_json("show", "groups", scenario.group_id, "--at", scenario.snapshots[1].id, "--store", store)
    assert scenario.member_id in shown["children"]["members"]
    assert shown["childNames"][scenario.member_id] == scenario.member_name
    bare = ok_json("show", "groups", scenario.group_id, "--no-children", "--store", store)
    assert bare["children"] == {} and "childNames" not in bare
    early = ok_json(
        "show", "groups", scenario.group_id, "--at", started(scenario.snapshots[0]), "--store", store
    )
    assert scenario.member_id not in early["children"]["members"]


def test_show_errors(scenario: Scenario) -> None:
    store = str(scenario.store)
    cases = {
        ("show", "users", scenario.user_id, "--at", "2000-01-01"): "before the first snapshot",
        ("show", "userz", scenario.user_id): "did you mean users",
        ("show", "users", "Adele Vance"): "are named 'Adele Vance'; use an id",
        ("show", "groups", "Finance Admins"): "are named 'Finance Admins'; use an id",
        ("show", "conditionalAccessPolicies", scenario.policy_id, "--at", scenario.snapshots[2].id): (
            "not captured in snapshot"
        ),
        ("show", "groups", scenario.deleted_group_id, "--at", scenario.snapshots[1].id): "no groups with id",
    }
    for args, expected in cases.items():
        result = cli(*args, "--store", store)
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.output, (args, result.output)
        assert "Traceback" not in result.output
    ambiguous = cli("show", "users", "Adele Vance", "--store", store).output
    adeles = [u["id"] for u in ok_json_list(store, "users", "Adele Vance")]
    assert len(adeles) >= 2 and all(a in ambiguous for a in adeles)
    forbidden = cli(
        "show",
        "conditionalAccessPolicies",
        scenario.policy_id,
        "--at",
        scenario.snapshots[2].id,
        "--store",
        store,
    ).output
    assert "forbidden" in forbidden


def ok_json_list(store: str, key: str, name: str) -> list[dict[str, Any]]:
    """Objects of a type with a display name, read straight from the latest snapshot."""
    repository = Repository.open(LocalBackend(Path(store)))
    view = SnapshotView(CachedRepository(repository), repository.snapshots()[-1])
    return [{"id": oid} for oid, _ in view.named(key, name)]


def test_show_text_renderer(scenario: Scenario) -> None:
    repository = Repository.open(LocalBackend(scenario.store))
    cache = CachedRepository(repository)
    view = SnapshotView(cache, repository.snapshots()[1])
    found = view.get("groups", scenario.group_id)
    assert found is not None
    out = io.StringIO()
    kids = found.record["children"]
    timeline_cmd.render_show(
        Console(file=out, width=200, color_system=None),
        found,
        view,
        kids,
        {scenario.member_id: scenario.member_name},
    )
    text = out.getvalue()
    header = text.splitlines()[0]
    assert header.startswith(f"groups {scenario.group_name} {scenario.group_id}")
    assert view.record.id[:12] in header and started(view.record)[:10] in header
    assert f'"displayName": "{scenario.group_name}"' in text
    assert f"{scenario.member_name}  {scenario.member_id}" in text


def test_damaged_object_is_a_clear_error(scenario: Scenario, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(scenario.store, copy)
    repository = Repository.open(LocalBackend(copy))
    view = SnapshotView(CachedRepository(repository), repository.snapshots()[-1])
    found = view.get("users", scenario.user_id)
    assert found is not None
    damage(copy, found.hash)
    for args in (("show", "users", scenario.user_id), ("history", "users", scenario.user_id)):
        result = cli(*args, "--store", str(copy))
        assert result.exit_code == 1, result.output
        assert f"object {found.hash} is damaged" in result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


# --- history ---------------------------------------------------------------------------------------


def events(history: dict[str, Any]) -> list[tuple[str, str]]:
    return [(v["event"], v["snapshot"]) for v in history["versions"]]


def test_history_of_a_renamed_user(scenario: Scenario) -> None:
    s = scenario.snapshots
    history = ok_json("history", "users", scenario.user_id, "--store", str(scenario.store))
    assert (history["type"], history["id"], history["name"]) == ("users", scenario.user_id, scenario.new_name)
    assert events(history) == [("appeared", s[0].id), ("changed", s[1].id)]
    assert history["versions"][0]["started"] == started(s[0])
    assert history["versions"][1]["changes"] == [
        {"path": "displayName", "kind": "changed", "before": scenario.old_name, "after": scenario.new_name}
    ]
    assert history["versions"][1]["last"] == s[-1].id and history["versions"][1]["snapshots"] == 3
    # The old name still resolves: it exists in the earlier snapshots.
    by_old = ok_json("history", "users", scenario.old_name, "--store", str(scenario.store))
    assert by_old["id"] == scenario.user_id


def test_history_of_group_members_names_the_new_member(scenario: Scenario) -> None:
    history = ok_json("history", "groups", scenario.group_name, "--store", str(scenario.store))
    changed = history["versions"][1]
    assert changed["event"] == "changed" and changed["snapshot"] == scenario.snapshots[1].id
    assert changed["changes"] == [
        {"path": "members", "kind": "members", "added": [scenario.member_id], "removed": []}
    ]
    assert changed["names"] == {scenario.member_id: scenario.member_name}


def test_history_of_a_policy_disabled_then_not_captured(scenario: Scenario) -> None:
    s = scenario.snapshots
    history = ok_json(
        "history", "conditionalAccessPolicies", scenario.policy_id, "--store", str(scenario.store)
    )
    assert events(history) == [("appeared", s[0].id), ("changed", s[1].id), ("notCaptured", s[2].id)]
    assert history["versions"][1]["changes"] == [
        {"path": "state", "kind": "changed", "before": "enabled", "after": "disabled"}
    ]
    everything = ok_json(
        "history", "conditionalAccessPolicies", scenario.policy_name, "--all", "--store", str(scenario.store)
    )
    assert everything["id"] == scenario.policy_id
    assert [c["path"] for c in everything["versions"][1]["changes"]] == ["modifiedDateTime", "state"]
    gap = history["versions"][2]
    assert gap["status"] == "forbidden" and gap["changes"] == []
    assert "disappeared" not in [e for e, _ in events(history)]


def test_history_of_a_deleted_then_restored_group(scenario: Scenario) -> None:
    s = scenario.snapshots
    history = ok_json("history", "groups", scenario.deleted_group_id, "--store", str(scenario.store))
    assert events(history) == [("appeared", s[0].id), ("disappeared", s[1].id), ("reappeared", s[2].id)]
    assert history["versions"][2]["last"] == s[3].id


def test_history_errors(scenario: Scenario) -> None:
    store = str(scenario.store)
    for args, expected in {
        ("history", "users", "Nobody Atall"): "no users with id or name 'Nobody Atall' in any snapshot",
        ("history", "users", "Adele Vance"): "use an id",
        ("history", "policies", "x"): "unknown type 'policies'",
    }.items():
        result = cli(*args, "--store", store)
        assert result.exit_code == 1 and expected in result.output, result.output


def test_history_text_renderer(scenario: Scenario) -> None:
    repository = Repository.open(LocalBackend(scenario.store))
    cache = CachedRepository(repository)
    records = tenant_records(repository)
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    timeline_cmd.render_history(
        console, object_history(cache, records, catalog.BY_KEY["groups"], scenario.group_id)
    )
    timeline_cmd.render_history(
        console,
        object_history(cache, records, catalog.BY_KEY["conditionalAccessPolicies"], scenario.policy_id),
    )
    text = out.getvalue()
    assert f"members: + {scenario.member_name} ({scenario.member_id})" in text
    assert 'state: "enabled" → "disabled"' in text
    assert "not captured (forbidden)" in text
    assert started(scenario.snapshots[1])[:19].replace("T", " ") in text


def test_entry_finder_follows_an_object_like_a_full_index(tmp_path: Path) -> None:
    """Bisect and neighbour-bounded lookups agree with reading every entry, across churning snapshots."""
    import random

    from entrasnap.services.history import EntryFinder

    rng = random.Random(7)
    repository = Repository.open(LocalBackend(tmp_path / "repo"), create=True)
    objects = {f"{rng.getrandbits(64):016x}": 0 for _ in range(3000)}
    watched = [*sorted(objects)[::97], "0" * 16, "f" * 16, "not-there"]
    records = []
    for day in range(8):
        for oid in rng.sample(sorted(objects), 40):
            objects[oid] += 1
        for oid in rng.sample(sorted(objects), 5):
            del objects[oid]  # some watched ones disappear
        for _ in range(5):
            objects[f"{rng.getrandbits(64):016x}"] = 0
        if day == 3:
            objects.pop(watched[1], None)  # gone, then back two days later
        if day == 5:
            objects[watched[1]] = 9
        writer = repository.writer({"tenant": {"id": "t"}, "started": f"2026-01-0{day + 1}T00:00:00Z"})
        for oid, version in sorted(objects.items()):
            writer.add("users", oid, {"id": oid, "object": {"id": oid, "v": version}}, f"n{oid}")
        writer.finish_type("users", "ok")
        records.append(writer.commit("complete", {}))
    assert len(repository.chunks(records[-1], "users")) > 20
    cache = CachedRepository(repository)
    finder = EntryFinder(cache)
    for oid in watched:
        near = None
        for record in records:
            expected = SnapshotView(cache, record).index("users").get(oid)
            hit = finder.find(record, "users", oid, near)
            assert (None if hit is None else (hit.hash, hit.name)) == expected, (oid, record.id)
            assert finder.find(record, "users", oid) == hit
            near = hit or near


def test_the_collector_comes_back_without_a_collection_of_everything_read() -> None:
    import gc

    from entrasnap.services.timeline import without_gc

    assert gc.isenabled()
    with without_gc():
        assert not gc.isenabled()
        read = [[i] for i in range(200_000)]  # what a large diff keeps while it renders
        cycle: list[Any] = []
        cycle.append(cycle)
    old = {id(o) for o in gc.get_objects(generation=2)}
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert id(read) in old and id(read[-1]) in old  # counted as old: young collections skip it
    del cycle
    assert gc.collect() >= 1  # still collectable (not left frozen)


def test_show_history_and_diff_start_without_rich() -> None:
    import subprocess
    import sys

    modules = "entrasnap.cli.main, entrasnap.cli.timeline_cmd, entrasnap.cli.diff_cmd, entrasnap.services.render_diff"
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"  # rich is imported only to draw on a terminal (slow to import)
