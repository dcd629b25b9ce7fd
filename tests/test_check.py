"""`entrasnap check`: a clean repository passes; each kind of damage or tampering is found and named.

Repositories are built through the store API (four snapshots, small packs so there are several), then
damaged the way a disk fault or an attacker with write access to the storage would.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from azurite import ACCOUNT, Azurite
from entrasnap.cli.main import app
from entrasnap.store import LocalBackend, Repository, SnapshotRecord
from entrasnap.store.canonical import canonical_bytes, digest
from entrasnap.store.check import CheckReport, check
from entrasnap.store.codec import PLAIN
from entrasnap.store.index import parse_index
from entrasnap.store.keys import generate_key, parse_key
from entrasnap.store.location import open_backend
from entrasnap.store.lock import EXCLUSIVE, RepositoryLock
from repo_tools import damage, stored_at
from test_snapshot_cli import one_error_line
from test_store import group, user

runner = CliRunner()
PACK_SIZE = 4096


def cli(*args: object) -> Result:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stderr, result.stderr
    return result


def build(root: Path, key: bytes | None = None) -> list[SnapshotRecord]:
    """Four snapshots of a small tenant, each changing a few users; packs of about 4 KiB."""
    repo = Repository.init(LocalBackend(root, fsync=False), pack_size=PACK_SIZE, key=key)
    committed = []
    for n in range(4):
        writer = repo.writer(
            {"tenant": {"id": "t1", "domain": "contoso.example"}, "started": f"2026-03-0{n + 1}"}
        )
        for i in range(60):
            record = user(i, f"User {i} v{n if i % 10 == n else 0}")
            writer.add("users", record["id"], record, name=record["object"]["displayName"])
        writer.finish_type("users", "ok")
        members = [user(i)["id"] for i in range(n + 2)]
        writer.add("groups", group(1, members)["id"], group(1, members))
        writer.finish_type("groups", "ok")
        committed.append(writer.commit("complete", {}))
    return committed


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SnapshotRecord]]:
    root = tmp_path_factory.mktemp("template") / "repo"
    return root, build(root)


@pytest.fixture
def repo(template: tuple[Path, list[SnapshotRecord]], tmp_path: Path) -> tuple[Path, list[SnapshotRecord]]:
    """A fresh copy of the template repository to damage: (root, records oldest first)."""
    root = tmp_path / "repo"
    shutil.copytree(template[0], root)
    return root, template[1]


def run(root: Path, **options: Any) -> CheckReport:
    return check(LocalBackend(root), **options)


def found(report: CheckReport) -> list[tuple[str, str]]:
    """(file, message) of every damage found."""
    return [(p.key, p.message) for p in report.damage]


def one(report: CheckReport, key: str, *needles: str) -> str:
    """The damage reported for ``key``, containing every needle; returns its message."""
    messages = [m for k, m in found(report) if k == key and all(n in m for n in needles)]
    assert messages, (key, needles, found(report))
    return messages[0]


def user_record_hash(root: Path, record: SnapshotRecord, index: int) -> str:
    repo = Repository.open(LocalBackend(root))
    return list(repo.entries(repo.find(record.id), "users"))[index][1]


def rewrite(path: Path, change: dict[str, Any]) -> dict[str, Any]:
    """Edit a snapshot record as an attacker would: new fields, canonical bytes, same name."""
    data = {**json.loads(path.read_bytes()), **change}
    path.write_bytes(canonical_bytes(data))
    return data


def test_clean_repository_passes_in_both_modes(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    result = cli("check", "--store", root)
    assert result.exit_code == 0, result.stdout
    assert f"chain head: sequence 4, sha256 {records[-1].hash}" in result.stdout
    assert "no damage found (0 warnings)" in result.stdout
    deep = json.loads(cli("check", "--store", root, "--read-data", "--json").stdout)
    assert deep["ok"] and deep["problems"] == [] and deep["snapshots"] == 4 and deep["packs"] > 2
    assert deep["objectsVerified"] == deep["objectsIndexed"] == deep["objectsNeeded"] > 60
    assert deep["objectsUnused"] == 0
    assert deep["bytesRead"] >= deep["packBytes"]
    assert deep["head"] == {"sequence": 4, "hash": records[-1].hash, "file": records[-1].key}


def test_edited_object_is_found_by_read_data_only(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    h = user_record_hash(root, records[1], 5)
    pack, offset, _ = stored_at(root, h)
    damage(root, h)
    assert run(root).damage == []  # structure only: object records are not read
    report = run(root, read_data=True)
    key = pack.relative_to(root).as_posix()
    assert one(report, key, h, f"offset {offset}", "corrupt", "a users object")
    assert len(report.damage) == 1
    # user 5 never changed: every snapshot holds this record
    assert report.damaged_snapshots == {r.id: ["users"] for r in records}
    result = cli("check", "--store", root, "--read-data")
    assert result.exit_code == 1 and f"damage: {key}: object {h}" in result.stdout


@pytest.mark.parametrize("which", [0, 1, 2])
def test_deleted_snapshot_record_breaks_the_chain(
    repo: tuple[Path, list[SnapshotRecord]], which: int
) -> None:
    root, records = repo
    (root / records[which].key).unlink()
    report = run(root)
    message = one(report, "snapshots/", f"no record and no tombstone has sequence {which + 1}", "removed")
    assert records[which + 1].key in message
    assert len(report.damage) == 1


def test_deleted_newest_record_is_only_seen_against_a_logged_head(
    repo: tuple[Path, list[SnapshotRecord]],
) -> None:
    root, records = repo
    (root / records[-1].key).unlink()
    report = run(root)
    assert report.damage == []
    assert report.head is not None
    assert report.head["sequence"] == records[-1].sequence - 1  # what a scheduler compares with its log


def forget(root: Path, record: SnapshotRecord, **change: Any) -> str:
    """What `entrasnap forget` does to a record (docs/FORMAT.md, "Retention and prune"): a tombstone
    forgotten/<sequence>.json standing in for it in the chain, then the record deleted."""
    stone = {
        "by": "host", "format": 1, "forgotten": "2026-04-01T00:00:00.000000Z", "hash": record.hash,
        "id": record.id, "key": record.key, "previous": record.previous, "sequence": record.sequence,
        "started": record.data["started"], "tenant": record.tenant["id"], **change,
    }  # fmt: skip
    key = f"forgotten/{record.sequence:010d}.json"
    (root / "forgotten").mkdir(exist_ok=True)
    (root / key).write_bytes(canonical_bytes(stone))
    (root / record.key).unlink()
    return key


def test_forgotten_records_keep_the_chain_whole_and_are_listed(
    repo: tuple[Path, list[SnapshotRecord]],
) -> None:
    root, records = repo
    forget(root, records[0])
    forget(root, records[2])
    report = run(root)
    assert report.problems == []
    assert report.objects_unused > 0  # what only the forgotten snapshots used, until prune
    assert [(f["sequence"], f["id"], f["by"]) for f in report.forgotten] == [
        (1, records[0].id, "host"),
        (3, records[2].id, "host"),
    ]
    result = cli("check", "--store", root)
    assert result.exit_code == 0
    assert f"forgotten: sequence 3, snapshot {records[2].id} of t1 started" in result.stdout


def test_interrupted_forget_leaves_a_valid_chain(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    kept = (root / records[1].key).read_bytes()
    forget(root, records[1])
    (root / records[1].key).write_bytes(kept)  # the tombstone was written, the record not yet deleted
    assert run(root).problems == []


def test_forged_or_removed_tombstones_are_damage(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    stone = forget(root, records[1], hash="0" * 64)
    one(run(root), stone, "sequence 2 does not match the hash its successor", records[2].key)
    (root / stone).unlink()
    one(run(root), "snapshots/", "no record and no tombstone has sequence 2")
    (root / "forgotten" / "0000000003.json").write_text("{}")
    one(run(root), "forgotten/0000000003.json", "tombstone damaged")


def test_swapped_record_files_are_named(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    a, b = root / records[1].key, root / records[2].key
    first, second = a.read_bytes(), b.read_bytes()
    a.write_bytes(second)
    b.write_bytes(first)
    report = run(root)
    one(report, records[1].key, f"holds snapshot '{records[2].id}'", "swapped")
    one(report, records[2].key, f"holds snapshot '{records[1].id}'", "swapped")


def test_swapped_sequence_numbers_break_the_chain(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    """Records 2 and 3 renumbered as 3 and 2, their previous hashes made to fit as far as possible."""
    root, records = repo
    third = rewrite(root / records[2].key, {"sequence": 2, "previous": records[0].hash})
    rewrite(root / records[1].key, {"sequence": 3, "previous": digest(canonical_bytes(third))})
    report = run(root)
    message = one(report, records[1].key, "sequence 3 does not match the hash its successor", records[3].key)
    assert "altered, replaced or renumbered" in message
    assert len(report.damage) == 1


def test_record_naming_an_older_predecessor_is_reordering(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    rewrite(root / records[3].key, {"previous": records[1].hash})
    report = run(root)
    message = one(report, records[3].key, f"names {records[1].key} (sequence 2) as its predecessor")
    assert f"not {records[2].key} (sequence 3)" in message and "reordered" in message


def test_record_pointing_at_another_manifest_breaks_the_chain(
    repo: tuple[Path, list[SnapshotRecord]],
) -> None:
    root, records = repo
    path = root / records[1].key
    data = json.loads(path.read_bytes())
    data["types"]["users"] = records[0].types["users"]  # the users of an earlier day
    path.write_bytes(canonical_bytes(data))
    report = run(root)
    one(report, records[1].key, "sequence 2 does not match the hash its successor", records[2].key)


def test_inserted_record_is_named(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    forged = {**records[1].data, "id": "f" * 32}
    (root / "snapshots" / f"20260302T000000Z-{'f' * 32}.json").write_bytes(canonical_bytes(forged))
    report = run(root)
    message = one(report, "snapshots/", "sequence 2 is claimed by 2 records", "inserted")
    assert records[1].key in message


def test_altered_manifest_bytes_are_found_without_read_data(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    manifest = records[2].manifest("users")
    assert manifest is not None
    pack, offset, _ = stored_at(root, manifest)
    damage(root, manifest)
    report = run(root)
    one(
        report,
        pack.relative_to(root).as_posix(),
        f"manifest {manifest} (users) at offset {offset} is corrupt",
        "users",
    )


def test_deleted_pack_is_named_with_what_needs_it(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    pack, _, _ = stored_at(root, user_record_hash(root, records[0], 0))
    pack.unlink()
    key = pack.relative_to(root).as_posix()
    report = run(root)
    one(report, key, "missing: index/", "objects")
    one(report, key, "missing, and snapshots need")
    assert records[0].id in report.damaged_snapshots
    assert report.exit_code() == 1
    result = cli("check", "--store", root)
    assert "damaged snapshots: " in result.stdout and f"{records[0].id} (users)" in result.stdout


def test_deleted_index_file_leaves_objects_findable_but_reported(
    repo: tuple[Path, list[SnapshotRecord]],
) -> None:
    root, records = repo
    pack, _, _ = stored_at(root, user_record_hash(root, records[0], 0))
    index_key = next(
        k
        for k in LocalBackend(root).list("index/")
        if pack.name in (p for p, _ in parse_index((root / k).read_bytes(), k, PLAIN))
    )
    (root / index_key).unlink()
    report = run(root)
    key = pack.relative_to(root).as_posix()
    one(report, key, "no index file lists it, but snapshots", "still readable")
    assert any(p.key == key and "not listed in any index" in p.message for p in report.warnings)
    assert Repository.open(LocalBackend(root)).find(records[0].id).id == records[0].id


def test_pack_lost_with_its_index_file_is_one_line(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    pack, _, _ = stored_at(root, user_record_hash(root, records[0], 0))
    index_key = next(
        k
        for k in LocalBackend(root).list("index/")
        if pack.name in (p for p, _ in parse_index((root / k).read_bytes(), k, PLAIN))
    )
    (root / index_key).unlink()
    pack.unlink()
    report = run(root)
    key = pack.relative_to(root).as_posix()
    message = one(report, key, "objects snapshots need are missing", "no pack holds them", "more")
    assert [k for k, _ in found(report)].count(key) == 1
    assert int(message.split()[0]) > 5
    assert records[0].id in report.damaged_snapshots


def test_truncated_pack_is_named(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, records = repo
    pack, _, _ = stored_at(root, user_record_hash(root, records[3], 0))
    size = pack.stat().st_size
    os.truncate(pack, size // 2)
    key = pack.relative_to(root).as_posix()
    for report in (run(root), run(root, read_data=True)):
        one(report, key, "pack damaged or truncated", f"{size // 2:,} bytes")


def test_garbage_and_leftovers(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, _ = repo
    (root / "notes.txt").write_text("hello")
    (root / "data" / "zz").mkdir()
    (root / "data" / "zz" / "junk").write_text("junk")
    first_pack_dir = next(p for p in sorted((root / "data").iterdir()) if p.name != "zz")
    (first_pack_dir / ".tmp-abc123").write_bytes(b"half a pack")
    (root / "locks").mkdir(exist_ok=True)
    (root / "locks" / "commit").write_text("{}")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for name, pid in (("shared-dead", 2**22 + 1), ("shared-live", os.getpid())):
        holder = {"created": now, "host": socket.gethostname(), "operation": "snapshot", "pid": pid}
        (root / "locks" / name).write_bytes(canonical_bytes(holder))
    report = run(root)
    assert report.damage == []
    warned = {p.key: p.message for p in report.warnings}
    assert "unknown file" in warned["notes.txt"]
    assert "not a pack file" in warned["data/zz/junk"]
    assert "interrupted" in warned[f"data/{first_pack_dir.name}/.tmp-abc123"]
    assert "commit is in progress" in warned["locks/commit"]
    assert "stale lock" in warned["locks/shared-dead"] and "locks/shared-live" not in warned
    assert cli("check", "--store", root).exit_code == 0
    assert cli("check", "--store", root, "--strict").exit_code == 1
    (root / "snapshots" / "README.txt").write_text("x")
    (root / "index" / "garbage").write_text("x")
    report = run(root)
    one(report, "snapshots/README.txt", "unexpected file")
    one(report, "index/garbage", "unexpected file")


def test_damaged_index_file_is_named(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, _ = repo
    key = next(iter(LocalBackend(root).list("index/")))
    with (root / key).open("r+b") as handle:
        handle.write(b"xx")
    one(run(root), key, "content does not match its name")


def test_progress_is_told_every_pack_byte(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, _ = repo

    class Recorder:
        total = 0
        done = 0

        def start(self, total_bytes: int) -> None:
            self.total = total_bytes

        def advance(self, nbytes: int) -> None:
            self.done += nbytes

    recorder = Recorder()
    report = run(root, read_data=True, progress=recorder)
    assert recorder.total == recorder.done == report.pack_bytes > 0


def test_encrypted_repository_is_checked_through_its_codec(tmp_path: Path) -> None:
    key = parse_key(generate_key())
    root = tmp_path / "repo"
    records = build(root, key)

    def opener(backend: Any) -> Repository:
        return Repository.open(backend, key=key)

    assert run(root, read_data=True, opener=opener).problems == []
    repo = Repository.open(LocalBackend(root), key=key)
    h = list(repo.entries(repo.find(records[0].id), "users"))[3][1]
    location = repo.locate(h)
    assert location is not None
    pack = root / "data" / location[0][:2] / location[0]
    with pack.open("r+b") as handle:
        handle.seek(location[1] + 20)
        handle.write(b"\0")
    one(run(root, read_data=True, opener=opener), f"data/{location[0][:2]}/{location[0]}", h, "corrupt")


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    one_error_line(cli("check", "--store", tmp_path / "absent"), "does not exist")
    assert cli("check", "--store", tmp_path / "absent").exit_code == 2
    (tmp_path / "empty").mkdir()
    result = cli("check", "--store", tmp_path / "empty")
    assert result.exit_code == 2
    one_error_line(result, "not an entrasnap repository")


def test_newer_format_or_wrong_key_cannot_be_checked(
    repo: tuple[Path, list[SnapshotRecord]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = repo
    monkeypatch.delenv("ENTRASNAP_ENCRYPTION_KEY", raising=False)
    config = json.loads((root / "config.json").read_bytes())
    (root / "config.json").write_bytes(canonical_bytes({**config, "version": 5}))
    result = cli("check", "--store", root)
    assert result.exit_code == 2
    one_error_line(result, "format version 5", "upgrade entrasnap")
    encrypted = tmp_path / "encrypted"
    build(encrypted, parse_key(generate_key()))
    monkeypatch.setenv("OTHER_KEY", generate_key())
    wrong = cli("check", "--store", encrypted, "--encryption-key", "env:OTHER_KEY")
    assert wrong.exit_code == 2
    one_error_line(wrong)


def test_damaged_config_with_data_is_damage(repo: tuple[Path, list[SnapshotRecord]]) -> None:
    root, _ = repo
    (root / "config.json").write_text("{not json")
    result = cli("check", "--store", root)
    assert result.exit_code == 1
    assert "damage: config.json:" in result.stdout
    (root / "config.json").unlink()
    assert "damage: config.json:" in cli("check", "--store", root).stdout


@pytest.mark.usefixtures("azure_env")
def test_check_on_azure_blob_storage(repo: tuple[Path, list[SnapshotRecord]], azurite: Azurite) -> None:
    """The same checks through the Azure backend (a prefix inside a container, on Azurite)."""
    root, _ = repo
    store = f"az://{ACCOUNT}/{azurite.new_container()}/tenants/contoso"
    backend = open_backend(store, connection_string=azurite.connection_string)
    for key in LocalBackend(root).list(""):
        backend.create(key, (root / key).read_bytes())
    assert check(backend, read_data=True).problems == []
    pack = next(iter(backend.list("data/")))
    backend.delete(pack)
    one(check(backend), pack, "missing: index/")


def test_every_command_prints_its_help() -> None:
    """Help texts are rich markup: a stray [/…] in one (such as az://…[/PREFIX]) broke every --help."""
    import typer.main

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    names = [[name] for name in group.commands] + [["key", "generate"], ["key", "--help"]]
    for name in names:
        result = cli(*name, "--help")
        assert result.exit_code == 0, (name, result.output)
    assert "--public-key" in cli("check", "--help").output


def test_check_holds_a_shared_lock_unless_told_not_to(
    repo: tuple[Path, list[SnapshotRecord]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prune (exclusive lock) running: check waits for it (here not at all), or with --no-lock reads anyway."""
    root, _ = repo
    monkeypatch.setenv("ENTRASNAP_LOCK_WAIT", "0")
    with RepositoryLock(LocalBackend(root), EXCLUSIVE, operation="prune"):
        locked = cli("check", "--store", root)
        assert locked.exit_code == 2
        one_error_line(locked, "locked exclusively by prune")
        unlocked = cli("check", "--store", root, "--no-lock")
        assert unlocked.exit_code == 0 and "no damage found (0 warnings)" in unlocked.stdout
    assert not list(LocalBackend(root).list("locks/"))  # check released its own lock
