"""Acceptance: a snapshot captures every object of every type and every membership, unaltered.

The expected data is read from fakegraph independently of entrasnap's collector and Graph client:
plain, sequential httpx reads of the URLs the catalog declares (following nextLinks; parent-scoped
types per parent; children per object), plus the fake's own link table for memberships. The export
(``entrasnap export``) is then compared with it file by file.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from entrasnap import catalog
from entrasnap.catalog.model import Child, ResourceType
from entrasnap.cli.main import app
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.graph import GraphClient, StaticToken
from entrasnap.services.export import export_snapshot, file_name
from entrasnap.services.snapshot import take_snapshot
from entrasnap.store import LocalBackend, Repository
from repo_tools import manifests

JSON = dict[str, Any]
# What describes a response rather than the object: absent from the export by design.
ENVELOPE = ("@odata.context", "@odata.nextLink", "@odata.deltaLink", "@odata.count")
MEMBERSHIP_LINKS = {"members": "groups/members", "owners": "groups/owners"}


class GraphReader:
    """Sequential reads of the fake over HTTP, retrying throttled answers: what Graph returns."""

    def __init__(self, running: RunningFakeGraph) -> None:
        self.http: httpx.Client = running.client()
        self.requests = 0

    def get(
        self, url: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> JSON:
        for _ in range(50):
            answer = self.http.get(url, params=params, headers=headers)
            self.requests += 1
            if answer.status_code in (429, 503):
                time.sleep(float(answer.headers.get("Retry-After", "0.05")))
                continue
            assert answer.status_code == 200, (
                f"GET {answer.request.url}: {answer.status_code} {answer.text[:300]}"
            )
            body: JSON = answer.json()
            return body
        raise AssertionError(f"GET {url}: still throttled after 50 tries")

    def all(
        self, url: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> list[JSON]:
        """Every object of a collection, page by page (headers re-sent on every page)."""
        body = self.get(url, params, headers)
        values: list[JSON] = list(body["value"])
        while body.get("@odata.nextLink"):
            body = self.get(str(body["@odata.nextLink"]), None, headers)
            values.extend(body["value"])
        return values

    def close(self) -> None:
        self.http.close()


def type_query(rtype: ResourceType) -> tuple[dict[str, str], dict[str, str]]:
    """The query and headers the catalog declares for a type."""
    params: dict[str, str] = {}
    if rtype.page_size is not None and not rtype.singleton:
        params["$top"] = str(rtype.page_size)
    if rtype.select:
        params["$select"] = ",".join(rtype.select)
    if rtype.filter:
        params["$filter"] = rtype.filter
    if rtype.expand:
        params["$expand"] = rtype.expand
    headers = {"ConsistencyLevel": "eventual"} if rtype.consistency_eventual else {}
    return params, headers


def oid(rtype: ResourceType, obj: JSON) -> str:
    value = obj.get(rtype.id_field)
    return rtype.key if value is None and rtype.singleton else str(value)


def read_objects(reader: GraphReader, rtype: ResourceType, parents: dict[str, list[JSON]]) -> list[JSON]:
    """A type's objects as Graph returns them (singletons without the response envelope)."""
    url = f"/{rtype.api}{rtype.path}"
    params, headers = type_query(rtype)
    if rtype.singleton:
        body = reader.get(url, params, headers)
        return [{k: v for k, v in body.items() if k not in ENVELOPE}]
    if rtype.parent is None:
        return reader.all(url, params, headers)
    scope = rtype.parent
    found: dict[str, JSON] = {}
    for parent in parents[scope.type]:
        if scope.only and not parent.get(scope.only):
            continue
        own = scope.filter.format(id=parent["id"])
        query = {**params, "$filter": f"{params['$filter']} and {own}" if "$filter" in params else own}
        for obj in reader.all(url, query, headers):
            found.setdefault(oid(rtype, obj), obj)
    return list(found.values())


def read_child(reader: GraphReader, child: Child, parent_id: str) -> list[Any]:
    """One child collection as the export stores it: sorted ids (refs) or full objects by id."""
    params: dict[str, str] = {}
    top = child.page_size if child.page_size is not None else (999 if child.kind == "refs" else None)
    if top:
        params["$top"] = str(top)
    select = child.select if child.select is not None else (("id",) if child.kind == "refs" else None)
    if select:
        params["$select"] = ",".join(select)
    path = child.path.replace("{id}", parent_id)
    values = reader.all(f"/{child.api}{path}", params)
    if child.kind == "refs":
        return sorted(str(v["id"]) for v in values)
    return sorted(values, key=lambda v: str(v.get("id", "")))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Comparison:
    """Differences between an export and the expected data, as readable lines."""

    def __init__(self, export: Path) -> None:
        self.export = export
        self.manifest: JSON = read_json(export / "manifest.json")
        self.problems: list[str] = []

    def type_files(self, rtype: ResourceType) -> set[str]:
        folder = self.export / rtype.key
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    def objects(self, rtype: ResourceType, expected: list[JSON]) -> dict[str, JSON]:
        """Same ids, each object equal to Graph's; returns the exported objects by id."""
        info = self.manifest["types"].get(rtype.key)
        if info is None or info.get("status") != "ok":
            self.problems.append(f"{rtype.key}: manifest says {info}")
            return {}
        if info.get("count") != len(expected):
            self.problems.append(
                f"{rtype.key}: manifest count {info.get('count')}, Graph has {len(expected)}"
            )
        by_id = {oid(rtype, obj): obj for obj in expected}
        if len(by_id) != len(expected):
            self.problems.append(f"{rtype.key}: Graph returned duplicate ids")
        names = {name: i for i in by_id for name in [f"{file_name(i)}.json"]}
        files = self.type_files(rtype)
        child_files = {f"{file_name(i)}.{c.name}.json" for i in by_id for c in rtype.children}
        if missing := sorted(set(names) - files):
            self.problems.append(f"{rtype.key}: {len(missing)} object(s) lost, e.g. {missing[:3]}")
        if extra := sorted(files - set(names) - child_files):
            self.problems.append(f"{rtype.key}: {len(extra)} unexpected file(s), e.g. {extra[:3]}")
        exported: dict[str, JSON] = {}
        for name, object_id in names.items():
            if name not in files:
                continue
            got = read_json(self.export / rtype.key / name)
            exported[object_id] = got
            if got != by_id[object_id]:
                self.problems.append(f"{rtype.key}/{object_id}: {describe(by_id[object_id], got)}")
        return exported

    def children(self, rtype: ResourceType, child: Child, expected: dict[str, list[Any]]) -> None:
        """Each object's child list equal to ``expected`` (parent id -> list)."""
        for parent_id, values in expected.items():
            path = self.export / rtype.key / f"{file_name(parent_id)}.{child.name}.json"
            if not path.exists():
                self.problems.append(f"{rtype.key}/{parent_id}: {child.name} lost")
                continue
            got = read_json(path)
            if got != values:
                self.problems.append(f"{rtype.key}/{parent_id} {child.name}: {describe(values, got)}")

    def child_total(self, rtype: ResourceType, child: Child) -> int:
        total = 0
        for path in (self.export / rtype.key).glob(f"*.{child.name}.json"):
            total += len(read_json(path))
        return total

    def manifest_children(self, rtype: ResourceType, totals: dict[str, int]) -> None:
        recorded = self.manifest["types"][rtype.key].get("children") or {}
        wanted = {name: n for name, n in totals.items() if n}
        if {k: v for k, v in recorded.items() if v} != wanted:
            self.problems.append(f"{rtype.key}: manifest children {recorded}, export has {totals}")

    def check(self) -> None:
        assert not self.problems, f"{len(self.problems)} difference(s):\n" + "\n".join(self.problems[:40])


def describe(expected: Any, got: Any) -> str:
    """What differs, briefly: keys lost, added or changed (or the values when not objects)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        lost = sorted(set(expected) - set(got))
        added = sorted(set(got) - set(expected))
        changed = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
        return f"lost {lost}, added {added}, changed {[(k, expected[k], got[k]) for k in changed[:3]]}"
    if (
        isinstance(expected, list)
        and isinstance(got, list)
        and all(isinstance(v, str) for v in expected + got)
    ):
        return f"lost {sorted(set(expected) - set(got))[:5]}, added {sorted(set(got) - set(expected))[:5]}"
    return f"expected {json.dumps(expected)[:300]}, exported {json.dumps(got)[:300]}"


def resolvable_links(running: RunningFakeGraph, link_key: str, source_id: str) -> list[str]:
    """The fake's own link list, less targets that no longer resolve (Graph does not return them)."""
    store = running.store
    return sorted(t for t in store.linked(link_key, source_id) if store.resolve(t) is not None)


def membership_totals(running: RunningFakeGraph, group_ids: Iterator[str] | list[str]) -> dict[str, int]:
    ids = list(group_ids)
    return {
        child: sum(len(resolvable_links(running, link, gid)) for gid in ids)
        for child, link in MEMBERSHIP_LINKS.items()
    }


def repository_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def cli(args: list[str], tmp_path: Path) -> Any:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "ENTRASNAP_CONFIG": ""}
    return CliRunner().invoke(app, args, env=env)


def snapshot_via_cli(running: RunningFakeGraph, store: Path, tmp_path: Path) -> JSON:
    result = cli(
        [
            "snapshot",
            "--store",
            str(store),
            "--tenant",
            running.tenant_id,
            "--graph-url",
            running.url,
            "--access-token",
            running.token(),
            "--json",
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.output[-3000:]
    record: JSON = json.loads(result.stdout)
    return record


def compare_everything(running: RunningFakeGraph, export: Path) -> tuple[Comparison, int]:
    """Compare every catalog type, child and membership of the export with Graph's answers."""
    reader = GraphReader(running)
    comparison = Comparison(export)
    parents: dict[str, list[JSON]] = {}
    try:
        for rtype in catalog.CATALOG:
            expected = read_objects(reader, rtype, parents)
            parents[rtype.key] = [{"id": oid(rtype, o), **o} for o in expected]
            comparison.objects(rtype, expected)
            totals: dict[str, int] = {}
            for child in rtype.children:
                lists = {oid(rtype, o): read_child(reader, child, oid(rtype, o)) for o in expected}
                comparison.children(rtype, child, lists)
                totals[child.name] = sum(len(v) for v in lists.values())
            comparison.manifest_children(rtype, totals)
        extra = {p.name for p in export.iterdir()} - {t.key for t in catalog.CATALOG} - {"manifest.json"}
        if extra:
            comparison.problems.append(f"unexpected entries in the export: {sorted(extra)}")
    finally:
        reader.close()
    return comparison, reader.requests


def check_memberships(running: RunningFakeGraph, comparison: Comparison) -> None:
    """Members and owners in total, against the fake's link table (resolvable targets only)."""
    groups = catalog.BY_KEY["groups"]
    wanted = membership_totals(running, running.store.sets["groups"].ids())
    for name in MEMBERSHIP_LINKS:
        child = next(c for c in groups.children if c.name == name)
        got = comparison.child_total(groups, child)
        if got != wanted[name]:
            comparison.problems.append(f"groups {name}: {got} exported, fake holds {wanted[name]}")
        if comparison.manifest["types"]["groups"]["children"].get(name) != wanted[name]:
            comparison.problems.append(f"groups {name}: manifest disagrees with the fake ({wanted[name]})")
    assert wanted["members"] > 0 and wanted["owners"] > 0


def test_snapshot_of_size_s_exports_exactly_what_graph_holds(
    fakegraph_factory: Callable[..., RunningFakeGraph], tmp_path: Path
) -> None:
    running = fakegraph_factory(size="S", seed=7, time_scale=0.02)
    store, export = tmp_path / "repo", tmp_path / "export"

    started = time.monotonic()
    record = snapshot_via_cli(running, store, tmp_path)
    seconds = time.monotonic() - started
    assert record["status"] == "complete"
    assert set(record["types"]) == {t.key for t in catalog.CATALOG}
    not_ok = {k: v for k, v in record["types"].items() if v["status"] != "ok"}
    assert not not_ok, not_ok
    print(f"\nS snapshot: {seconds:.1f}s, stats {record['stats']}")

    result = cli(["export", "latest", "--store", str(store), "--to", str(export)], tmp_path)
    assert result.exit_code == 0, result.output
    comparison, requests = compare_everything(running, export)
    check_memberships(running, comparison)
    assert comparison.manifest["snapshot"] == record["id"]
    assert comparison.manifest["status"] == "complete"
    for key, info in record["types"].items():
        assert comparison.manifest["types"][key]["count"] == info["count"]
    print(f"S expected data: {requests} plain requests")
    comparison.check()

    # An unchanged tenant: every object and chunk is reused; only the snapshot record is new.
    before = repository_files(store)
    again = snapshot_via_cli(running, store, tmp_path)
    assert again["stats"]["objectsWritten"] == 0, again["stats"]
    assert again["stats"]["objectsReused"] > 0
    assert again["parent"] == record["id"]
    new = repository_files(store) - before
    assert len(new) == 1 and next(iter(new)).startswith("snapshots/"), sorted(new)
    assert manifests(again) == manifests(record)


# The biggest types only. Cost: the M snapshot of these types is ~1 minute on 2 cores (about 45,000 $batch
# items: every group's, application's and service principal's children); the expected objects are read
# page by page, memberships come from the fake's link table, and object children are read for a sample.
M_TYPES = [
    "users",
    "groups",
    "applications",
    "servicePrincipals",
    "conditionalAccessPolicies",
    "roleEligibilitySchedules",
]
M_SAMPLE = 150  # parents per objects-child read over HTTP


def test_snapshot_of_size_m_keeps_every_object_and_membership(
    fakegraph_factory: Callable[..., RunningFakeGraph], tmp_path: Path
) -> None:
    running = fakegraph_factory(size="M", seed=7, time_scale=0.02)
    store, export = tmp_path / "repo", tmp_path / "export"
    types = catalog.resolve(M_TYPES)
    # Without a per-object fsync: durability is not what this test measures, and on a slow disk the fsyncs
    # of ~32,000 new objects alone take longer than the whole read.
    repository = Repository.open(LocalBackend(store, fsync=False), create=True)

    async def snapshot() -> Any:
        client = GraphClient(running.url, StaticToken(running.token()))
        try:
            return await take_snapshot(client, repository, types, tenant_hint=running.tenant_id)
        finally:
            await client.aclose()

    outcome = asyncio.run(snapshot())
    assert outcome.exit_code == 0
    assert all(r.status == "ok" for r in outcome.results), [
        (r.key, r.status, r.error) for r in outcome.results
    ]
    print(
        f"\nM snapshot ({', '.join(M_TYPES)}): {outcome.seconds:.1f}s, stats {outcome.record.data['stats']}"
    )
    export_snapshot(repository, outcome.record, export)

    reader = GraphReader(running)
    comparison = Comparison(export)
    try:
        for rtype in types:
            expected = read_objects(reader, rtype, {})
            comparison.objects(rtype, expected)
            ids = sorted(oid(rtype, o) for o in expected)
            totals: dict[str, int] = {}
            for child in rtype.children:
                if child.kind == "refs":
                    link = f"{rtype.path.strip('/')}/{child.name}"
                    lists = {i: resolvable_links(running, link, i) for i in ids}
                else:
                    step = max(1, len(ids) // M_SAMPLE)
                    lists = {i: read_child(reader, child, i) for i in ids[::step]}
                comparison.children(rtype, child, lists)
                totals[child.name] = comparison.child_total(rtype, child)
                if child.kind == "refs":
                    assert totals[child.name] == sum(len(v) for v in lists.values())
            comparison.manifest_children(rtype, totals)
    finally:
        reader.close()
    check_memberships(running, comparison)
    print(f"M expected data: {reader.requests} plain requests")
    comparison.check()


@pytest.mark.parametrize("object_id", ["a/b", "..", ".hidden", 'x:y*?<>|"\\'])
def test_file_names_of_awkward_ids_are_distinct_and_safe(object_id: str) -> None:
    name = file_name(object_id)
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert name != file_name(object_id + "x")
