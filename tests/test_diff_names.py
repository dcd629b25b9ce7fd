"""Which GUIDs a diff names, and the cost of naming them: an element's own id or key id is never looked
up, references matched by application id are, and ids known to be directory objects never make the
diff read every service principal for application ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from entrasnap.services.changes import diff_records
from entrasnap.services.diff import NameResolver, PropertyChange
from entrasnap.services.timeline import CachedRepository, SnapshotView
from entrasnap.store import Repository
from entrasnap.store.backend import LocalBackend

GRAPH_APP = "00000003-0000-0000-c000-000000000000"
KEY = "6f2a7d1e-3c41-4d0b-9a55-2b7f1e9c0d11"
USER = "4f3c2b1a-0d9e-4c8b-a7f6-e5d4c3b2a190"
GONE = "9e8d7c6b-5a49-4838-a726-15f4e3d2c1b0"
SP = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def _guids(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, set[str], bool]]:
    return [(c.path, PropertyChange(c).guids(), c.object_ids) for c in diff_records(before, after)]


def test_own_key_ids_are_not_names_but_referenced_app_ids_are() -> None:
    secret = {"keyId": KEY, "displayName": "Backdoor secret", "endDateTime": "2027-01-01T00:00:00Z"}
    access = [{"resourceAppId": GRAPH_APP, "resourceAccess": [{"id": KEY, "type": "Scope"}]}]
    before = {"id": "a", "object": {"passwordCredentials": [], "requiredResourceAccess": []}}
    after = {"id": "a", "object": {"passwordCredentials": [secret], "requiredResourceAccess": access}}
    assert _guids(before, after) == [
        (f"passwordCredentials[{KEY}]", set(), False),
        (f"requiredResourceAccess[{GRAPH_APP}]", {GRAPH_APP}, False),
    ]


def test_child_id_lists_are_directory_object_ids() -> None:
    before = {"id": "g", "object": {}, "children": {"members": [USER]}}
    after = {"id": "g", "object": {}, "children": {"members": [USER, GONE]}}
    assert _guids(before, after) == [("members", {GONE}, True)]


def test_single_values_and_nested_values_name_their_guids() -> None:
    before = {"id": "p", "object": {"owner": USER.upper(), "note": "x" * 36, "on": True, "cfg": {"id": KEY}}}
    after = {"id": "p", "object": {"owner": GONE, "note": "y", "on": False, "cfg": {"id": KEY, "to": [SP]}}}
    assert _guids(before, after) == [
        ("cfg.to", {SP}, False),
        ("note", set(), False),
        ("on", set(), False),
        ("owner", {USER, GONE}, False),
    ]


class Counting(CachedRepository):
    def __init__(self, repository: Repository) -> None:
        super().__init__(repository)
        self.read: list[str] = []

    def get(self, digest: str) -> Any:
        self.read.append(digest)
        return super().get(digest)


def _view(tmp_path: Path) -> tuple[SnapshotView, Counting]:
    repo = Repository.open(LocalBackend(tmp_path / "repo"), create=True)
    writer = repo.writer({"tenant": {"id": "tenant"}})
    writer.add("users", USER, {"id": USER, "object": {"id": USER, "displayName": "Ana"}}, "Ana")
    writer.finish_type("users", "ok")
    sp = {"id": SP, "object": {"id": SP, "appId": GRAPH_APP, "displayName": "Microsoft Graph"}}
    writer.add("servicePrincipals", SP, sp, "Microsoft Graph")
    writer.finish_type("servicePrincipals", "ok")
    record = writer.commit("partial", {})
    cache = Counting(repo)
    return SnapshotView(cache, record), cache


def test_unknown_object_ids_do_not_read_every_service_principal(tmp_path: Path) -> None:
    view, cache = _view(tmp_path)
    resolver = NameResolver(view, view)
    before = len(cache.read)
    assert resolver.resolve({USER, GONE}, object_ids={USER, GONE}) == {USER: "Ana"}
    sp_hash = next(h for _, h, _ in view.entries("servicePrincipals"))
    assert sp_hash not in cache.read[before:]
    # Without that knowledge the unknown id may be an application id: the table is read and names it.
    assert resolver.resolve({GONE, GRAPH_APP}) == {GRAPH_APP: "Microsoft Graph"}
    assert sp_hash in cache.read[before:]


def test_names_from_a_chunk_are_those_entry_by_entry() -> None:
    from entrasnap.services.diff import _chunk_names

    found: dict[str, str] = {KEY: "Earlier"}
    entries = [[USER.upper(), "h1", "Ann"], [SP, "h2", None], [GONE, "h3"], [KEY, "h4", "Later"]]
    _chunk_names(entries, {USER, SP, GONE, KEY}, found)  # matched as a set
    assert found == {KEY: "Earlier", USER: "Ann"}
    found = {}
    _chunk_names([["AB", "h", "First"], ["ab", "h", "Second"]], {"ab"}, found)  # equal once lower-cased
    assert found == {"ab": "First"}
    found = {}
    _chunk_names([[7, "h", "Seven"], ["AB", "h", "Bee"]], {"7", "ab"}, found)  # an id that is no string
    assert found == {"7": "Seven", "ab": "Bee"}


class _Chunks:
    """Just the reads differing_entries makes: chunks by snapshot, and their values."""

    def __init__(self, chunks: dict[str, list[str]], values: dict[str, Any]) -> None:
        self._chunks, self._values = chunks, values

    def chunks(self, record: Any, key: str) -> list[str]:
        return self._chunks[record]

    def get_many(self, digests: Any, *, keep: bool = False) -> dict[str, Any]:
        return {d: self._values[d] for d in digests}


def test_entries_of_any_shape_are_read_as_entry_by_entry() -> None:
    from entrasnap.services.diff import differing_entries

    values = {
        "common": {"entries": [["same", "h0", "Same"]]},
        "typed": {"entries": [["Ab", "h1", "Ann", ["pack", 0, 1]], ["cd", "h2", None]]},
        "short": {"entries": [["Ef", "h3"], ["gh", "h4", "Gee"]]},
        "odd": {"entries": [[7, 8, "Seven"], ["IJ", "h5", "Eye"]]},
    }
    cache: Any = _Chunks({"before": ["common", "typed"], "after": ["common", "short", "odd"]}, values)
    old, new = differing_entries(cache, cast(Any, "before"), cast(Any, "after"), "users")
    assert old == {"ab": ("h1", "Ann"), "cd": ("h2", None)}
    assert new == {"ef": ("h3", None), "gh": ("h4", "Gee"), "7": ("8", "Seven"), "ij": ("h5", "Eye")}
