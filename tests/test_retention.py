"""forget (restic's keep-policy per tenant, tombstones in the record chain) and prune (mark and sweep,
repacking, index consolidation, leftovers; safe when killed at any step)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from entrasnap.cli.main import app
from entrasnap.store import LocalBackend, NotFoundError, Repository, SnapshotRecord, StoreError, digest
from entrasnap.store import prune as sweep
from entrasnap.store.check import check
from entrasnap.store.index import parse_index
from entrasnap.store.retention import Policy, apply_policy, forget, plan, tombstone_key

TENANT = {"id": "aaaaaaaa-0000-4000-8000-000000000001", "domain": "contoso.example"}
OTHER = {"id": "bbbbbbbb-0000-4000-8000-000000000002", "domain": "fabrikam.example"}
runner = CliRunner()


def user(i: int, version: int = 0) -> dict[str, Any]:
    oid = f"{i:08d}-0000-4000-8000-{i:012d}"
    return {"id": oid, "object": {"id": oid, "displayName": f"User {i}", "jobTitle": f"v{version}"}}


def new_repo(root: Path, pack_size: int = 4096) -> Repository:
    return Repository.init(LocalBackend(root, fsync=False), pack_size=pack_size)


def take(
    repo: Repository, started: str, users: list[dict[str, Any]], tenant: dict[str, str] = TENANT
) -> SnapshotRecord:
    writer = repo.writer({"tenant": tenant, "graph": "https://graph.microsoft.com", "started": started})
    for record in users:
        writer.add("users", record["id"], record, record["object"]["displayName"])
    writer.finish_type("users", "ok")
    writer.finish_type("groups", "ok")
    return writer.commit("complete", {})


def readback(root: Path) -> dict[str, Any]:
    """Every snapshot's record bytes and every type's entries and object records, read afresh."""
    repo = Repository.open(LocalBackend(root))
    out: dict[str, Any] = {}
    for record in repo.snapshots():
        out[record.id] = {
            "record": (root / record.key).read_bytes(),
            "types": {
                key: [(e, repo.get(e[1])) for e in repo.named_entries(record, key)] for key in record.types
            },
        }
    return out


class Reads(LocalBackend):
    """Notes the reads of packs that do not exist (a stale location followed)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.missed: list[str] = []

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        try:
            return super().read_range(key, offset, length)
        except NotFoundError:
            self.missed.append(key)
            raise


def indexed(root: Path) -> dict[str, set[str]]:
    """Pack id -> hashes, from every index file."""
    return indexed_with(Repository.open(LocalBackend(root)))


def damage(root: Path) -> list[str]:
    """`check --read-data`'s damage, less the chain gaps that a tombstone covers (docs/FORMAT.md,
    "Retention and prune": `check` is to accept those)."""
    forgotten = {int(p.stem) for p in (root / "forgotten").glob("*.json")}
    return [
        f"{p.key}: {p.message}"
        for p in check(LocalBackend(root), read_data=True).damage
        if not (
            p.key == "snapshots/"
            and any(p.message.startswith(f"no record has sequence {s}:") for s in forgotten)
        )
    ]


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def record(started: str, n: int = 0, tenant: dict[str, str] = TENANT) -> SnapshotRecord:
    snapshot_id = f"{n:032x}"
    return SnapshotRecord(
        key=f"snapshots/x-{snapshot_id}.json", data={"id": snapshot_id, "started": started, "tenant": tenant}
    )


def kept(policy: Policy, starts: list[str]) -> list[tuple[str, list[str]]]:
    keep, remove = apply_policy([record(s, n) for n, s in enumerate(starts)], policy)
    assert len(keep) + len(remove) == len(starts)
    return [(r.data["started"], why) for r, why in keep]


# --- policy ---------------------------------------------------------------------------------------------

DAILY_Q1 = [
    (datetime(2026, 1, 1, 9, tzinfo=UTC) + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    for d in range(90)
] + ["2026-03-31T18:00:00.000000Z"]


def test_daily_weekly_monthly_newest_of_each_bucket() -> None:
    """Worked by hand: 2026-03-31 is a Tuesday (ISO week 14 starts Monday 30th), the 29th a Sunday."""
    assert kept(Policy(daily=3, weekly=2, monthly=2), DAILY_Q1) == [
        ("2026-03-31T18:00:00.000000Z", ["daily snapshot", "weekly snapshot", "monthly snapshot"]),
        ("2026-03-30T09:00:00.000000Z", ["daily snapshot"]),
        ("2026-03-29T09:00:00.000000Z", ["daily snapshot", "weekly snapshot"]),
        ("2026-02-28T09:00:00.000000Z", ["monthly snapshot"]),
    ]


def test_a_rule_with_count_left_also_keeps_the_oldest() -> None:
    """restic keeps the oldest snapshot while a rule has count left (it lengthens the history kept)."""
    assert kept(Policy(monthly=6), DAILY_Q1) == [
        ("2026-03-31T18:00:00.000000Z", ["monthly snapshot"]),
        ("2026-02-28T09:00:00.000000Z", ["monthly snapshot"]),
        ("2026-01-31T09:00:00.000000Z", ["monthly snapshot"]),
        ("2026-01-01T09:00:00.000000Z", ["monthly snapshot"]),
    ]


def test_last_and_yearly_across_years_in_utc() -> None:
    """Buckets are UTC: 2025-12-31T23:30-05:00 is 2026-01-01 04:30 UTC, in 2026."""
    starts = [
        "2024-06-01T00:00:00.000000Z",
        "2025-03-01T00:00:00.000000Z",
        "2025-11-30T00:00:00.000000Z",
        "2025-12-31T23:30:00.000000-05:00",
        "2026-02-01T00:00:00.000000Z",
    ]
    assert kept(Policy(last=1, yearly=2), starts) == [
        ("2026-02-01T00:00:00.000000Z", ["last snapshot", "yearly snapshot"]),
        ("2025-11-30T00:00:00.000000Z", ["yearly snapshot"]),
    ]
    assert kept(Policy(last=-1), starts)[-1] == ("2024-06-01T00:00:00.000000Z", ["last snapshot"])
    assert len(kept(Policy(daily=-1), starts)) == 5


def test_an_empty_policy_is_refused() -> None:
    with pytest.raises(StoreError, match="empty policy"):
        apply_policy([record(DAILY_Q1[0])], Policy())


def test_forget_is_per_tenant_and_writes_tombstones_first(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    a = [take(repo, f"2026-01-0{d}T10:00:00Z", [user(1, d)]) for d in range(1, 5)]
    b = [take(repo, f"2026-01-0{d}T11:00:00Z", [user(2, d)], OTHER) for d in range(1, 3)]
    decisions = plan(repo, Policy(last=2))
    assert [(d.tenant, [r.id for r, _ in d.keep], [r.id for r in d.remove]) for d in decisions] == [
        ("contoso.example", [a[3].id, a[2].id], [a[1].id, a[0].id]),
        ("fabrikam.example", [b[1].id, b[0].id], []),
    ]
    only = plan(repo, Policy(last=1), tenant="FABRIKAM.example")
    assert [d.tenant for d in only] == ["fabrikam.example"] and [r.id for r in only[0].remove] == [b[0].id]
    with pytest.raises(StoreError, match="no snapshot of tenant"):
        plan(repo, Policy(last=1), tenant="nobody.example")

    forget(repo, decisions[0].remove)
    assert {r.id for r in repo.snapshots()} == {a[2].id, a[3].id, b[0].id, b[1].id}
    for gone in (a[0], a[1]):
        stone = orjson.loads((tmp_path / "r" / tombstone_key(gone.sequence)).read_bytes())
        assert (stone["id"], stone["hash"], stone["previous"], stone["key"]) == (
            gone.id,
            gone.hash,
            gone.previous,
            gone.key,
        )
    assert chain_gaps(tmp_path / "r") == []


def chain_gaps(root: Path) -> list[int]:
    """The rule docs/FORMAT.md gives `check`: every sequence is a record or a tombstone, and each link's
    `previous` is the hash of the link before it."""
    links: dict[int, tuple[str, str | None]] = {}
    for path in (root / "forgotten").glob("*.json"):
        stone = orjson.loads(path.read_bytes())
        links[stone["sequence"]] = (stone["hash"], stone["previous"])
    for path in (root / "snapshots").glob("*.json"):
        raw = path.read_bytes()
        data = orjson.loads(raw)
        links[data["sequence"]] = (digest(raw), data["previous"])
    bad = []
    for sequence in range(1, max(links) + 1):
        before = links.get(sequence - 1, (None, None))[0]
        if sequence not in links or links[sequence][1] != before:
            bad.append(sequence)
    return bad


def test_interrupted_forget_leaves_records_beside_tombstones_and_completes(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r")
    records = [take(repo, f"2026-01-0{d}T10:00:00Z", [user(1, d)]) for d in range(1, 4)]
    from entrasnap.store.canonical import canonical_bytes
    from entrasnap.store.retention import tombstone

    repo.backend.create(tombstone_key(records[0].sequence), canonical_bytes(tombstone(records[0])))
    assert chain_gaps(tmp_path / "r") == []  # a present record wins over its tombstone
    forget(repo, plan(repo, Policy(last=2))[0].remove)  # the tombstone exists already: accepted
    assert len(repo.snapshots()) == 2 and chain_gaps(tmp_path / "r") == []
    with pytest.raises(StoreError, match="heads the record chain"):
        forget(repo, [records[-1]])


def cli(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args], env={"ENTRASNAP_LOCK_WAIT": "0"})


def test_forget_cli_dry_run_changes_nothing_then_removes(tmp_path: Path) -> None:
    root = tmp_path / "r"
    repo = new_repo(root)
    records = [take(repo, f"2026-0{m}-15T10:00:00Z", [user(1, m)]) for m in range(1, 5)]
    before = files(root)
    dry = cli("forget", "--store", root, "--keep-monthly", "2", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    body = json.loads(dry.stdout)
    assert body["dryRun"] and body["removed"] == 0
    assert [r["id"] for r in body["tenants"][0]["remove"]] == [records[1].id, records[0].id]
    assert body["tenants"][0]["keep"][0]["reasons"] == ["monthly snapshot"]
    assert files(root) == before
    done = cli("forget", "--store", root, "--keep-monthly", "2")
    assert done.exit_code == 0, done.stderr
    assert (
        "remove " in done.stdout and records[0].id[:12] in done.stdout and "monthly snapshot" in done.stdout
    )
    assert "entrasnap prune" in done.stderr
    assert {r.id for r in Repository.open(LocalBackend(root)).snapshots()} == {records[2].id, records[3].id}
    empty = cli("forget", "--store", root)
    assert empty.exit_code == 1 and empty.stderr.startswith("error: no policy"), empty.stderr


# --- prune ----------------------------------------------------------------------------------------------


def history(root: Path, pack_size: int = 4096) -> Repository:
    """Six monthly snapshots of 40 users, a quarter of them changed each month: shared and private data."""
    repo = new_repo(root, pack_size)
    for month in range(1, 7):
        take(
            repo,
            f"2026-0{month}-01T10:00:00Z",
            [user(i, month if i % 4 == month % 4 else 0) for i in range(40)],
        )
    return repo


def test_prune_frees_exactly_the_unreferenced_data(tmp_path: Path) -> None:
    root = tmp_path / "r"
    repo = history(root)
    forget(repo, plan(repo, Policy(last=2))[0].remove)
    kept_before = readback(root)
    dry = sweep.plan(repo, max_unused=0.0)
    untouched = files(root)
    assert dry.delete and dry.repack and files(root) == untouched  # planning changes nothing
    outcome = sweep.execute(repo, dry)
    assert readback(root) == kept_before and damage(root) == []
    live = sweep.reachable(Repository.open(LocalBackend(root)))
    packs = indexed(root)
    assert set().union(*packs.values()) == live  # max_unused 0: nothing unused is left
    assert {p.name for p in (root / "data").rglob("*") if p.is_file()} == set(packs)
    assert len(list((root / "index").iterdir())) == 1
    assert outcome.after.bytes < outcome.before.bytes and outcome.packs_written >= 1
    again = sweep.plan(Repository.open(LocalBackend(root)), max_unused=0.0)
    assert not (again.delete or again.repack or again.rewrite_index)


def test_prune_repacks_only_mostly_unused_packs(tmp_path: Path) -> None:
    """One pack per snapshot. A: 40 users; B: 10 of them changed; C: 30 changed. Keeping C only, A's
    pack is mostly unused (its manifest and 30 users: 86% of its bytes; repacked at the default 50%,
    kept at 90%), B's wholly unused (deleted), C's in use (kept)."""
    root = tmp_path / "r"
    repo = new_repo(root, pack_size=1 << 20)
    take(repo, "2026-01-01T10:00:00Z", [user(i) for i in range(40)])
    take(repo, "2026-02-01T10:00:00Z", [user(i, 1 if i >= 30 else 0) for i in range(40)])
    last = take(repo, "2026-03-01T10:00:00Z", [user(i, 2 if i >= 10 else 0) for i in range(40)])
    first = repo.locate(next(repo.entries(last, "users"))[1])  # user 0: unchanged since A
    assert first is not None and len(indexed(root)) == 3
    forget(repo, plan(repo, Policy(last=1))[0].remove)
    lenient = sweep.plan(Repository.open(LocalBackend(root)), max_unused=0.9)
    assert (len(lenient.keep), len(lenient.delete), lenient.repack) == (2, 1, [])
    before = readback(root)
    todo = sweep.plan(Repository.open(LocalBackend(root)), max_unused=0.5)
    assert (len(todo.keep), len(todo.delete), todo.repack) == (1, 1, [first[0]])
    assert len(todo.copy[first[0]]) == 10  # the ten users C still has unchanged
    outcome = sweep.execute(Repository.open(LocalBackend(root)), todo)
    assert outcome.packs_written == 1 and readback(root) == before
    reads = Reads(root)
    repo = Repository.open(reads)
    assert [r["id"] for r in repo.records(repo.snapshots()[-1], "users")] == [
        user(i)["id"] for i in range(40)
    ]
    assert reads.missed == [f"data/{first[0][:2]}/{first[0]}"]  # a stale location is tried once per pack
    assert first[0] not in indexed(root) and len(indexed(root)) == 2


def test_prune_refuses_when_a_used_object_is_missing(tmp_path: Path) -> None:
    root = tmp_path / "r"
    history(root)
    for path in (root / "index").iterdir():
        path.unlink()  # the packs are there, but nothing says what they hold
    untouched = files(root)
    with pytest.raises(StoreError, match="run `entrasnap check`"):
        sweep.plan(Repository.open(LocalBackend(root)))
    assert files(root) == untouched


def test_leftovers_are_removed_only_when_older_than_the_grace_period(tmp_path: Path) -> None:
    root = tmp_path / "r"
    history(root)
    pack = next(p for p in (root / "data").rglob("*") if p.is_file())
    orphan = pack.parent / ("f" * 32)
    shutil.copyfile(pack, orphan)
    temp = root / "index" / ".tmp-abc"
    temp.write_bytes(b"half")
    young = sweep.plan(Repository.open(LocalBackend(root)))
    assert young.young_orphans == [orphan.relative_to(root).as_posix()] and young.temps == []
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    os.utime(temp, (old, old))
    todo = sweep.plan(Repository.open(LocalBackend(root)))
    assert todo.orphans == [orphan.relative_to(root).as_posix()] and todo.temps == [temp]
    sweep.execute(Repository.open(LocalBackend(root)), todo)
    assert not orphan.exists() and not temp.exists()


def test_prune_cli_reports_storage_before_and_after(tmp_path: Path) -> None:
    root = tmp_path / "r"
    repo = history(root)
    forget(repo, plan(repo, Policy(last=1))[0].remove)
    untouched = files(root)
    dry = cli("prune", "--store", root, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert json.loads(dry.stdout)["after"] is None and files(root) == untouched
    result = cli("prune", "--store", root, "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["after"]["bytes"] < body["before"]["bytes"] and body["packsDeleted"] > 0
    on_disk = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert body["after"]["bytes"] == on_disk
    text = cli("prune", "--store", root)
    assert "storage before:" in text.stderr and "storage after:" in text.stderr and "freed 0 B" in text.stderr


KILLER = """
import os, signal, sys
from datetime import timedelta
from entrasnap.store import LocalBackend, Repository, prune
from entrasnap.store.lock import EXCLUSIVE, RepositoryLock

class Killing(LocalBackend):
    ops = 0
    def tick(self):
        if self.ops == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        self.ops += 1
    def create(self, key, data):
        self.tick()
        return super().create(key, data)
    def delete(self, key):
        self.tick()
        super().delete(key)

backend = Killing(sys.argv[1])
with RepositoryLock(LocalBackend(sys.argv[1]), EXCLUSIVE, operation="prune", wait=0):
    repo = Repository.open(backend)
    prune.execute(repo, prune.plan(repo, max_unused=0.0, grace=timedelta(0)))
print(backend.ops)
"""


def killed_prune(root: Path, at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(root), str(at)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_prune_killed_at_any_step_leaves_a_valid_repository(tmp_path: Path) -> None:
    """SIGKILL before the n-th write or delete of a prune: the snapshots all read back, the index names
    no missing pack, and the next prune (recovering the dead process's lock) finishes the job."""
    original = tmp_path / "original"
    repo = history(original)
    forget(repo, plan(repo, Policy(last=2))[0].remove)
    expected = readback(original)
    whole = tmp_path / "whole"
    shutil.copytree(original, whole)
    finished = killed_prune(whole, -1)
    assert finished.returncode == 0, finished.stderr
    total = int(finished.stdout)
    assert total > 6
    for at in sorted({0, 1, total // 3, total // 2, total - 2, total - 1}):
        root = tmp_path / f"killed-{at}"
        shutil.copytree(original, root)
        assert killed_prune(root, at).returncode == -signal.SIGKILL
        assert list((root / "locks").iterdir()), "the killed prune's lock is left behind"
        assert readback(root) == expected, f"killed before operation {at}"
        assert damage(root) == [], f"killed before operation {at}"
        stored = {p.name for p in (root / "data").rglob("*") if p.is_file()}
        assert set(indexed(root)) <= stored, f"killed before operation {at}: the index names a missing pack"
        again = killed_prune(root, -1)
        assert again.returncode == 0, again.stderr
        assert readback(root) == expected and damage(root) == []
        assert set(indexed(root)) == {p.name for p in (root / "data").rglob("*") if p.is_file()}
        assert set().union(*indexed(root).values()) == set().union(*indexed(whole).values())


def test_forget_and_prune_an_encrypted_repository(tmp_path: Path) -> None:
    """Tombstones are sealed like records (no tenant id in the clear); prune repacks sealed bytes as they are."""
    root, key = tmp_path / "r", os.urandom(32)
    repo = Repository.init(LocalBackend(root, fsync=False), pack_size=4096, key=key)
    for month in range(1, 5):
        take(repo, f"2026-0{month}-01T10:00:00Z", [user(i, month if i % 2 else 0) for i in range(30)])
    forget(repo, plan(repo, Policy(last=1))[0].remove)
    assert all(TENANT["id"].encode() not in p.read_bytes() for p in (root / "forgotten").iterdir())

    def contents() -> list[Any]:
        opened = Repository.open(LocalBackend(root), key=key)
        return [list(opened.records(r, "users")) for r in opened.snapshots()]

    before = contents()
    todo = sweep.plan(Repository.open(LocalBackend(root), key=key), max_unused=0.0)
    assert todo.repack and todo.delete
    sweep.execute(Repository.open(LocalBackend(root), key=key), todo)
    assert contents() == before
    opened = Repository.open(LocalBackend(root), key=key)
    assert set().union(*indexed_with(opened).values()) == sweep.reachable(opened)


def indexed_with(repo: Repository) -> dict[str, set[str]]:
    packs: dict[str, set[str]] = {}
    for key in repo.backend.list("index/"):
        for pack_id, blobs in parse_index(repo.backend.read(key), key, repo.codec):
            packs.setdefault(pack_id, set()).update(h for h, _, _ in blobs)
    return packs


def test_a_snapshot_after_a_repack_records_where_objects_are_now(tmp_path: Path) -> None:
    """Unchanged objects kept from the previous snapshot are listed with their new locations, not the
    stale ones the previous manifests still carry (so later readers never chase deleted packs)."""
    root = tmp_path / "r"
    repo = new_repo(root, pack_size=1 << 20)
    take(repo, "2026-01-01T10:00:00Z", [user(i) for i in range(40)])
    last = take(repo, "2026-02-01T10:00:00Z", [user(i, 1 if i >= 10 else 0) for i in range(40)])
    forget(repo, plan(repo, Policy(last=1))[0].remove)
    sweep.execute(Repository.open(LocalBackend(root)), sweep.plan(Repository.open(LocalBackend(root))))
    live_packs = set(indexed(root))

    again = Repository.open(LocalBackend(root))
    previous = again.find(last.id)
    writer = again.writer({"tenant": TENANT, "started": "2026-03-01T10:00:00Z"})
    for object_id, record_hash, name in again.named_entries(previous, "users"):
        writer.add_existing("users", object_id, record_hash, name)  # read through stale hints
    writer.finish_type("users", "ok")
    newest = writer.commit("complete", {})

    fresh = Repository.open(LocalBackend(root))
    chunks = [fresh.get(h) for h in fresh.chunks(newest, "users")]
    packs = {entry[3][0] for chunk in chunks for entry in chunk["entries"]}
    assert packs and packs <= live_packs
