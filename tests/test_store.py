"""The repository: canonical JSON, write-once objects, manifests, snapshot records, find(), failures."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from entrasnap.store import LocalBackend, Repository, SnapshotRecord, StoreError, canonical_bytes
from entrasnap.store.codec import PLAIN
from entrasnap.store.index import parse_index_bases
from entrasnap.store.manifest import MAX_CHUNK_ENTRIES, cut, ends_chunk
from entrasnap.store.pack import read_trailer
from repo_tools import overwrite, stored_at

TENANT = {"id": "11111111-2222-3333-4444-555555555555", "domain": "contoso.example"}


def user(i: int, name: str | None = None) -> dict[str, Any]:
    oid = f"{i:08d}-0000-4000-8000-{i:012d}"
    return {"id": oid, "object": {"id": oid, "displayName": name or f"User {i}", "accountEnabled": True}}


def group(i: int, members: list[str]) -> dict[str, Any]:
    oid = f"g{i:07d}-0000-4000-8000-000000000000"
    return {"id": oid, "object": {"id": oid, "displayName": f"Group {i}"}, "children": {"members": members}}


def open_repo(path: Path, *, fsync: bool = True) -> Repository:
    return Repository.open(LocalBackend(path, fsync=fsync), create=True)


def snapshot(
    repo: Repository,
    users: list[dict[str, Any]],
    *,
    started: str | None = None,
    groups: list[dict[str, Any]] | None = None,
) -> SnapshotRecord:
    meta: dict[str, Any] = {"tenant": TENANT, "graph": "https://graph.microsoft.com"}
    if started:
        meta["started"] = started
    writer = repo.writer(meta)
    for record in users:
        writer.add("users", record["id"], record)
    writer.finish_type("users", "ok", requests=2)
    for record in groups or []:
        writer.add("groups", record["id"], record)
    writer.finish_type(
        "groups", "ok", children={"members": sum(len(g["children"]["members"]) for g in groups or [])}
    )
    writer.finish_type(
        "conditionalAccessPolicies",
        "forbidden",
        error={
            "status": 403,
            "code": "Authorization_RequestDenied",
            "message": "no",
            "permission": "Policy.Read.All",
        },
    )
    return writer.commit("partial", {"requests": 3})


# canonical JSON and objects


def test_canonical_json_ignores_key_order_and_keeps_unicode() -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": "Zoë 東京"}}
    b = {"a": {"x": "Zoë 東京", "y": [1, 2]}, "b": 1}
    assert canonical_bytes(a) == canonical_bytes(b) == '{"a":{"x":"Zoë 東京","y":[1,2]},"b":1}'.encode()
    with pytest.raises(ValueError):
        canonical_bytes({"x": float("nan")})


def test_put_get_round_trip_stores_zlib_of_canonical_json_in_a_pack(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    value = {"z": 1, "a": ["ü", None, 2.5, True]}
    h = repo.put(value)
    data = canonical_bytes(value)
    assert h == hashlib.sha256(data).hexdigest()
    assert repo.get(h) == value  # readable before its pack is written
    assert not (tmp_path / "repo" / "data").exists()
    repo.flush()
    path, offset, length = stored_at(tmp_path / "repo", h)
    assert zlib.decompress(path.read_bytes()[offset : offset + length]) == data
    assert read_trailer(path.read_bytes(), PLAIN) == [(h, offset, length)]
    [index_key] = list(repo.backend.list("index/"))
    assert index_key == "index/" + hashlib.sha256((tmp_path / "repo" / index_key).read_bytes()).hexdigest()
    assert repo.stats.objects_written == 1 and repo.stats.bytes_written == length
    assert repo.put({"a": ["ü", None, 2.5, True], "z": 1}) == h  # same content, other key order
    assert repo.stats.objects_written == 1 and repo.stats.objects_reused == 1
    # A new process (no in-memory knowledge) finds it through the index and does not write it again.
    again = Repository.open(LocalBackend(tmp_path / "repo"))
    assert again.get(h) == value
    assert again.put(value) == h
    again.flush()
    assert again.stats.objects_written == 0 and again.stats.objects_reused == 1
    assert len(list(again.backend.list("data/"))) == 1


def test_config_is_written_and_init_refuses_an_existing_repository(tmp_path: Path) -> None:
    repo = Repository.init(LocalBackend(tmp_path / "r"))
    config = json.loads((tmp_path / "r" / "config.json").read_bytes())
    assert config["format"] == "entrasnap-repository" and config["version"] == 4
    assert config["hash"] == "sha256" and config["compression"] == "zlib" and config["id"] == repo.id
    with pytest.raises(StoreError, match="already holds an entrasnap repository"):
        Repository.init(LocalBackend(tmp_path / "r"))
    assert Repository.open(LocalBackend(tmp_path / "r"), create=True).id == repo.id


# snapshots


def test_snapshot_round_trip(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    users = [user(i) for i in (3, 1, 2)]
    groups = [group(1, sorted(u["id"] for u in users))]
    rec = snapshot(repo, users, groups=groups, started="2026-11-27T09:30:00+01:00")
    assert re.fullmatch(r"snapshots/20261127T083000Z-[0-9a-f]{32}\.json", rec.key)
    assert rec.key.endswith(f"-{rec.id}.json")
    stored = (tmp_path / "repo" / rec.key).read_bytes()
    assert stored == canonical_bytes(rec.data)
    data = json.loads(stored)
    assert data["format"] == 2 and data["tenant"] == TENANT and data["status"] == "partial"
    assert data["sequence"] == 1 and data["previous"] is None
    assert data["started"] == "2026-11-27T08:30:00.000000Z" and data["parent"] is None
    assert data["graph"] == "https://graph.microsoft.com" and data["stats"] == {"requests": 3}
    assert data["types"]["users"]["count"] == 3 and data["types"]["users"]["requests"] == 2
    assert data["types"]["groups"]["children"] == {"members": 3}
    ca = data["types"]["conditionalAccessPolicies"]
    assert (
        ca["status"] == "forbidden"
        and "manifest" not in ca
        and ca["error"]["permission"] == "Policy.Read.All"
    )

    [listed] = Repository.open(LocalBackend(tmp_path / "repo")).snapshots()
    assert listed == rec
    ids = sorted(u["id"] for u in users)
    assert [oid for oid, _ in repo.entries(listed, "users")] == ids
    assert list(repo.records(listed, "users")) == sorted(users, key=lambda u: u["id"])
    assert list(repo.records(listed, "groups")) == groups
    assert list(repo.entries(listed, "conditionalAccessPolicies")) == []
    with pytest.raises(StoreError, match="holds no type 'devices'"):
        list(repo.entries(listed, "devices"))

    second = snapshot(repo, users)
    assert second.parent == rec.id
    assert second.sequence == 2 and second.previous == hashlib.sha256(stored).hexdigest()


def test_unchanged_second_snapshot_writes_only_its_record(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    users = [user(i) for i in range(300)]
    groups = [group(i, [users[i]["id"]]) for i in range(20)]
    first = repo.writer({"tenant": TENANT})
    for u in users:
        first.add("users", u["id"], u)
    first.finish_type("users", "ok")
    for g in groups:
        first.add("groups", g["id"], g)
    first.finish_type("groups", "ok")
    first.commit("complete", {})
    assert first.objects_written > 320 and first.objects_reused == 0

    second = repo.writer({"tenant": TENANT})
    for u in reversed(users):  # arrival order does not matter
        second.add("users", u["id"], u)
    second.finish_type("users", "ok")
    for g in groups:
        second.add("groups", g["id"], {"object": g["object"], "children": g["children"], "id": g["id"]})
    second.finish_type("groups", "ok")
    rec = second.commit("complete", {})
    assert second.objects_written == 0
    assert second.objects_reused == first.objects_written  # every record and every chunk
    assert second.bytes_written == (tmp_path / "repo" / rec.key).stat().st_size
    assert rec.manifest("users") == repo.find("previous").manifest("users")
    assert len(list(repo.backend.list("data/"))) == 1  # the second snapshot wrote no pack


def _chunks_for(repo: Repository, users: list[dict[str, Any]]) -> list[str]:
    rec = snapshot(repo, users)
    return list(repo.chunks(rec, "users"))


def test_manifest_chunks_are_stable_under_change_and_insertion(tmp_path: Path) -> None:
    # fsync off: this test is about chunk boundaries, not durability.
    repo = open_repo(tmp_path / "repo", fsync=False)
    users = [user(i) for i in range(5000)]
    base = _chunks_for(repo, users)
    assert 30 < len(base) < 200  # about one boundary in 64 ids

    changed = list(users)
    changed[2345] = user(2345, name="Renamed")
    after_change = _chunks_for(repo, changed)
    assert len(after_change) == len(base)
    assert sum(a != b for a, b in zip(base, after_change, strict=True)) == 1

    inserted = [*users, user(99999)]
    after_insert = _chunks_for(repo, inserted)
    assert len(set(after_insert) - set(base)) <= 2
    assert len(set(base) - set(after_insert)) <= 2

    last = repo.find("latest")
    assert [oid for oid, _ in repo.entries(last, "users")] == sorted(u["id"] for u in inserted)
    for chunk_hash in repo.chunks(last, "users")[:-1]:  # every chunk but the last ends at a boundary
        assert ends_chunk(repo.get(chunk_hash)["entries"][-1][0])


def test_chunk_rule_and_hard_cap() -> None:
    ids = [f"id{i:06d}" for i in range(10000)]
    expected_boundaries = [i for i in ids if int(hashlib.sha256(i.encode()).hexdigest()[:8], 16) % 64 == 0]
    chunks = list(cut([(i, "h") for i in ids]))
    assert [c[-1][0] for c in chunks if ends_chunk(c[-1][0])] == expected_boundaries
    assert [e for c in chunks for e in c] == [(i, "h") for i in ids]
    no_boundaries = [(i, "h") for i in ids if not ends_chunk(i)][:5000]
    capped = list(cut(no_boundaries))
    assert [len(c) for c in capped] == [MAX_CHUNK_ENTRIES, 5000 - MAX_CHUNK_ENTRIES]


def test_objects_without_a_record_are_not_a_snapshot_and_temp_files_are_ignored(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    crashed = repo.writer({"tenant": TENANT})
    for i in range(50):
        crashed.add("users", user(i)["id"], user(i))
    crashed.finish_type("users", "ok")
    repo.flush()  # a long run writes each full pack (and its index) as it goes
    lost = group(1, [user(0)["id"]])
    crashed.add("groups", lost["id"], lost)  # this one is still in memory when the process dies
    # the process dies here: no commit. A half-written file is left behind too.
    (tmp_path / "repo" / "snapshots").mkdir()
    (tmp_path / "repo" / "snapshots" / ".tmp-abc123").write_bytes(b'{"format":1,"id":')
    (tmp_path / "repo" / "data" / "00" / ".tmp-def456").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "repo" / "data" / "00" / ".tmp-def456").write_bytes(b"x")

    reopened = Repository.open(LocalBackend(tmp_path / "repo"))
    assert reopened.snapshots() == []
    with pytest.raises(StoreError, match="has no snapshots"):
        reopened.find("latest")
    assert not any(".tmp-" in key for key in reopened.backend.list(""))

    writer = reopened.writer({"tenant": TENANT})
    for i in range(50):
        writer.add("users", user(i)["id"], user(i))
    writer.finish_type("users", "ok")
    writer.add("groups", lost["id"], lost)
    writer.finish_type("groups", "ok")
    rec = writer.commit("complete", {})
    # what the crashed run had written is reused (50 records, their chunk and manifest); the group it
    # held in memory is written again, with its chunk and manifest
    assert writer.objects_reused == 52 and writer.objects_written == 3
    assert [r.id for r in reopened.snapshots()] == [rec.id] and rec.parent is None


def test_writer_refuses_misuse(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    with pytest.raises(ValueError, match="unknown snapshot metadata"):
        repo.writer({"tenat": TENANT})
    writer = repo.writer({"tenant": TENANT})
    with pytest.raises(ValueError, match="differs from object id"):
        writer.add("users", "other", user(1))
    writer.add("users", user(1)["id"], user(1))
    with pytest.raises(ValueError, match="not finished"):
        writer.commit("complete", {})
    with pytest.raises(ValueError, match="type status"):
        writer.finish_type("users", "fine")
    writer.finish_type("users", "ok")
    with pytest.raises(ValueError, match="already finished"):
        writer.add("users", user(2)["id"], user(2))
    with pytest.raises(ValueError, match="snapshot status"):
        writer.commit("done", {})
    writer.commit("complete", {})
    with pytest.raises(ValueError, match="already committed"):
        writer.commit("complete", {})


# find()


def _dated(repo: Repository, started: str) -> SnapshotRecord:
    return snapshot(repo, [user(1)], started=started)


def test_find_by_keyword_date_and_id(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    a = _dated(repo, "2026-11-25T10:00:00Z")
    b = _dated(repo, "2026-11-27T08:00:00Z")
    c = _dated(repo, "2026-11-27T23:59:59Z")
    d = _dated(repo, "2026-11-28T00:00:00Z")
    assert [r.id for r in repo.snapshots()] == [a.id, b.id, c.id, d.id]
    assert [b.parent, c.parent, d.parent] == [a.id, b.id, c.id]
    assert repo.find("latest").id == d.id
    assert repo.find("previous").id == c.id
    assert repo.find("2026-11-27").id == c.id  # end of that UTC day
    assert repo.find("2026-11-26").id == a.id
    assert repo.find("2026-11-27T08:00:00Z").id == b.id  # at counts
    assert repo.find("2026-11-27T07:59:59Z").id == a.id
    assert repo.find("2026-11-27T09:00:00+01:00").id == b.id
    assert repo.find("2026-11-27T12:00").id == b.id  # naive means UTC
    assert repo.find("2030-01-01").id == d.id
    with pytest.raises(
        StoreError, match=r"no snapshot at or before 2026-11-24: the first snapshot started at 2026-11-25T10"
    ):
        repo.find("2026-11-24")
    with pytest.raises(StoreError, match="not a valid date"):
        repo.find("2026-13-45")
    assert repo.find(b.id).id == b.id
    assert repo.find(b.id[:6].upper()).id == b.id
    with pytest.raises(StoreError, match="too short"):
        repo.find(b.id[:5])
    with pytest.raises(StoreError, match="no snapshot id starts with"):
        repo.find("ffffffffffffff" if not b.id.startswith("ff") else "00000000000000")
    with pytest.raises(StoreError, match="not a snapshot reference"):
        repo.find("yesterday")


def test_find_lists_candidates_of_an_ambiguous_prefix(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    ids = []
    for n in range(2):
        writer = repo.writer({"tenant": TENANT})
        writer.id = f"abcdef{n}" + "0" * 25
        ids.append(writer.commit("complete", {}).id)
    with pytest.raises(StoreError, match=f"ambiguous: {ids[0]} .*, {ids[1]} ") as info:
        repo.find("abcdef")
    assert "\n" not in str(info.value)
    assert repo.find("abcdef1").id == ids[1]


def test_previous_needs_two_snapshots(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    _dated(repo, "2026-11-25T10:00:00Z")
    with pytest.raises(StoreError, match="no previous snapshot"):
        repo.find("previous")


# damage and failures


def test_damaged_and_missing_objects_are_reported_by_name(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    rec = snapshot(repo, [user(i) for i in range(10)])
    _, h = next(repo.entries(rec, "users"))
    chunk = repo.chunks(rec, "users")[0]
    path, offset, length = stored_at(tmp_path / "repo", h)
    good = path.read_bytes()[offset : offset + length]
    assert len(good) == length

    fresh = Repository.open(LocalBackend(tmp_path / "repo"))  # nothing cached in memory
    overwrite(path, offset, good[:10] + bytes(length - 10))
    with pytest.raises(StoreError, match=f"object {h} is damaged \\(content does not match its hash"):
        fresh.get(h)
    with pytest.raises(StoreError, match=f"object {h} is damaged"):
        list(fresh.records(fresh.find("latest"), "users"))
    overwrite(path, offset, good)
    assert fresh.get(h) == repo.get(h)

    chunk_path, chunk_offset, _ = stored_at(tmp_path / "repo", chunk)
    overwrite(chunk_path, chunk_offset, b"garbage")
    with pytest.raises(StoreError, match=f"object {chunk} is damaged"):
        list(Repository.open(LocalBackend(tmp_path / "repo")).entries(rec, "users"))
    path.unlink()
    with pytest.raises(StoreError, match=f"object {h} is damaged"):
        Repository.open(LocalBackend(tmp_path / "repo")).get(h)
    for key in list(repo.backend.list("index/")):
        repo.backend.delete(key)
    with pytest.raises(StoreError, match=f"object {h} is missing from repository"):
        Repository.open(LocalBackend(tmp_path / "repo")).get(h)
    with pytest.raises(StoreError, match="not an object hash"):
        repo.get("../config.json")


def test_damaged_snapshot_record_is_reported_by_file_name(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    rec = snapshot(repo, [user(1)])
    path = tmp_path / "repo" / rec.key
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(StoreError, match=re.escape(f"snapshot record {rec.key}") + ".* is damaged"):
        repo.snapshots()
    path.write_bytes(canonical_bytes({**rec.data, "id": "0" * 32}))
    with pytest.raises(StoreError, match=re.escape(rec.key) + ".*fields do not match"):
        repo.find("latest")
    path.write_bytes(canonical_bytes({**rec.data, "format": 3}))
    with pytest.raises(
        StoreError, match="format version 3; this entrasnap reads up to 2 — upgrade entrasnap"
    ):
        repo.snapshots()


def test_missing_path_and_non_repository_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"^repository path {tmp_path / 'nope'} does not exist$"):
        Repository.open(LocalBackend(tmp_path / "nope"))
    assert not (tmp_path / "nope").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match=r"is not an entrasnap repository \(no config\.json\)"):
        Repository.open(LocalBackend(tmp_path / "empty"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"format": "something-else", "version": 1}')
    with pytest.raises(StoreError, match="is not an entrasnap repository"):
        Repository.open(LocalBackend(tmp_path / "other"))


def test_newer_format_is_refused_with_an_upgrade_hint(tmp_path: Path) -> None:
    Repository.init(LocalBackend(tmp_path / "repo"))
    config_path = tmp_path / "repo" / "config.json"
    config = json.loads(config_path.read_bytes())
    config_path.write_bytes(canonical_bytes({**config, "version": 7}))
    with pytest.raises(StoreError) as info:
        Repository.open(LocalBackend(tmp_path / "repo"))
    assert (
        str(info.value)
        == "this repository has format version 7; this entrasnap reads up to 4 — upgrade entrasnap"
    )


def test_repository_under_a_regular_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(
        StoreError, match=f"^cannot create {blocker / 'repo'}.*: a parent of it is a file"
    ) as info:
        Repository.open(LocalBackend(blocker / "repo"), create=True)
    assert "\n" not in str(info.value)
    with pytest.raises(StoreError, match="does not exist"):
        Repository.open(LocalBackend(blocker / "repo"))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "locked").mkdir(mode=0o500)
    try:
        with pytest.raises(StoreError, match="permission denied"):
            Repository.open(LocalBackend(tmp_path / "locked" / "repo"), create=True)
    finally:
        (tmp_path / "locked").chmod(0o700)


def test_permission_denied_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Runs as root too (where chmod cannot deny): the OS refusal is simulated at the temp-file step.
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(StoreError) as info:
        Repository.open(LocalBackend(tmp_path / "repo"), create=True)
    assert str(info.value) == f"cannot write to {tmp_path / 'repo'}: permission denied"


# backend


def test_create_never_overwrites_and_list_is_sorted(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    assert backend.create("objects/ab/abc", b"one") is True
    assert backend.create("objects/ab/abc", b"two") is False
    assert backend.read("objects/ab/abc") == b"one"
    for key in ("objects/0f/0f1", "objects/ab/aa0", "snapshots/x.json", "objects/ff/ff9"):
        backend.create(key, b"x")
    assert list(backend.list("objects/")) == [
        "objects/0f/0f1",
        "objects/ab/aa0",
        "objects/ab/abc",
        "objects/ff/ff9",
    ]
    assert list(backend.list("objects/ab/ab")) == ["objects/ab/abc"]
    assert list(backend.list("locks/")) == []
    assert backend.exists("snapshots/x.json") and not backend.exists("snapshots/y.json")
    backend.delete("snapshots/x.json")
    backend.delete("snapshots/x.json")
    assert not backend.exists("snapshots/x.json")
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]
    with pytest.raises(ValueError):
        backend.create("objects/../escape", b"x")


def test_concurrent_creates_publish_exactly_one(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def race(n: int) -> None:
        barrier.wait()
        results.append(backend.create("objects/aa/race", f"writer {n}".encode()))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert backend.read("objects/aa/race").startswith(b"writer ")


def test_rename_fallback_where_hard_links_are_unsupported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    backend = LocalBackend(tmp_path)
    assert backend.create("objects/ab/abc", b"one") is True
    assert backend.create("objects/ab/abc", b"two") is False
    assert backend.read("objects/ab/abc") == b"one"
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]


# the documented standard-library reader


def test_format_doc_snippet_reads_a_real_repository(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    section = doc.split("## Reading without entrasnap", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert snippet is not None
    assert len([line for line in snippet.group(1).splitlines() if line.strip()]) <= 20
    script = tmp_path / "read.py"
    script.write_text(snippet.group(1), encoding="utf-8")

    repo = open_repo(tmp_path / "repo")
    snapshot(repo, [user(i) for i in range(5)], started="2026-11-25T10:00:00Z")
    snapshot(repo, [user(i) for i in range(200)], started="2026-11-26T10:00:00Z")
    latest_users = [user(i) for i in range(200) if i != 7] + [user(7, "Seven"), user(999, name="Zoë 東京")]
    latest = snapshot(repo, latest_users, started="2026-11-27T10:00:00Z")
    bases = {
        h: b
        for k in repo.backend.list("index/")
        for h, b in parse_index_bases(repo.backend.read(k), k, PLAIN)[1].items()
    }
    assert set(repo.chunks(latest, "users")) & set(bases)  # the snippet reads deltas too

    # -I -S: isolated, without site-packages, so only the standard library is available.
    run = subprocess.run(
        [sys.executable, "-I", "-S", str(script), str(tmp_path / "repo"), "users"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    lines = run.stdout.splitlines()
    expected = sorted(latest_users, key=lambda u: u["id"])
    assert lines == [
        f"{u['id']} {json.dumps(u['object'], ensure_ascii=False, sort_keys=True)}" for u in expected
    ]

    _, h = next(repo.entries(repo.find("latest"), "users"))
    path, offset, length = stored_at(tmp_path / "repo", h)
    stored = path.read_bytes()[offset : offset + length]
    changed = zlib.compress(zlib.decompress(stored).replace(b"User", b"Usr "))
    assert len(changed) == length  # same length: only the content check can tell
    overwrite(path, offset, changed)
    run = subprocess.run(
        [sys.executable, "-I", "-S", str(script), str(tmp_path / "repo"), "users"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and f"object {h} is damaged" in run.stderr


def test_entries_carry_display_names_for_lookups(tmp_path: Path) -> None:
    repo = Repository.open(LocalBackend(tmp_path / "repo", fsync=False), create=True)
    writer = repo.writer({"tenant": {"id": "t"}})
    writer.add(
        "groups",
        "g1",
        {"id": "g1", "object": {"id": "g1", "displayName": "Finance Admins"}},
        "Finance Admins",
    )
    writer.add("groups", "g2", {"id": "g2", "object": {"id": "g2"}})
    writer.finish_type("groups", "ok")
    record = writer.commit("complete", {})
    names = [name for _, _, name in repo.named_entries(record, "groups")]
    assert names == ["Finance Admins", None]
    assert [e[0] for e in repo.entries(record, "groups")] == ["g1", "g2"]


def test_add_existing_keeps_a_stored_record_without_rewriting_it(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    users = [user(i) for i in range(50)]
    first = snapshot(repo, users)
    entries = list(repo.named_entries(first, "users"))
    second = repo.writer({"tenant": TENANT})
    for object_id, record_hash, name in entries[1:]:
        second.add_existing("users", object_id, record_hash, name)
    renamed = user(0, "Renamed")
    second.add_existing("users", entries[0][0], entries[0][1], entries[0][2])
    second.add("users", renamed["id"], renamed, "Renamed")  # a later add of the same id wins
    second.finish_type("users", "ok")
    rec = second.commit("complete", {})
    # the new record, its chunk and the type's manifest
    assert second.objects_reused >= 50 and second.objects_written == 3
    after = {oid: (h, n) for oid, h, n in repo.named_entries(rec, "users")}
    assert len(after) == 50
    assert after[renamed["id"]][1] == "Renamed"
    assert repo.get(after[renamed["id"]][0]) == renamed
    assert after[users[7]["id"]] == (entries[7][1], entries[7][2])


def test_add_existing_refuses_a_missing_object_unless_told_not_to_check(tmp_path: Path) -> None:
    repo = open_repo(tmp_path / "repo")
    writer = repo.writer({"tenant": TENANT})
    absent = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(StoreError, match=f"object {absent} \\(users u1\\) is missing"):
        writer.add_existing("users", "u1", absent)
    with pytest.raises(ValueError, match="not an object hash"):
        writer.add_existing("users", "u1", "xyz")
    writer.add_existing("users", "u1", absent, check=False)
    writer.finish_type("users", "ok")
    assert writer.commit("complete", {}).types["users"]["count"] == 1


def test_record_cache_lists_snapshots_without_reading_records_and_notices_a_changed_one(
    tmp_path: Path,
) -> None:
    from entrasnap.store.record_cache import RecordCache

    repo = open_repo(tmp_path / "repo")
    first = snapshot(repo, [user(1)], started="2026-11-25T10:00:00Z")
    second = snapshot(repo, [user(1), user(2)], started="2026-11-26T10:00:00Z")

    def opened() -> Repository:
        again = Repository.open(LocalBackend(tmp_path / "repo"))
        again.record_cache = RecordCache(tmp_path / "cache", again.id)
        return again

    assert [r.id for r in opened().snapshots()] == [first.id, second.id]  # fills the cache
    reads: list[str] = []
    cached = opened()
    original = cached.backend.read
    cached.backend.read = lambda key: reads.append(key) or original(key)  # type: ignore[method-assign]
    listed = cached.snapshots()
    assert [r.id for r in listed] == [first.id, second.id] and listed[1].tenant == TENANT
    assert not [key for key in reads if key.startswith("snapshots/")]  # heads came from the cache
    assert listed[1].types["users"]["count"] == 2 and listed[1] == second  # read in full on first use
    assert [key for key in reads if key.startswith("snapshots/")] == [second.key]

    path = tmp_path / "repo" / first.key  # a record rewritten behind entrasnap's back
    path.write_bytes(canonical_bytes({**first.data, "status": "complete"}))
    with pytest.raises(StoreError, match=re.escape(first.key) + ".* changed after entrasnap last read it"):
        opened().find(first.id).types  # noqa: B018 - reading the record is the point

    (tmp_path / "repo" / second.key).unlink()  # forgotten: dropped from the cache as well
    assert [r.id for r in opened().snapshots()] == [first.id]
    assert (
        second.key not in json.loads((tmp_path / "cache" / f"{repo.id}.records.json").read_bytes())["records"]
    )
