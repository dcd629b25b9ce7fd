"""Repository locks: shared and exclusive lock files, refresh, stale-lock recovery, lost locks, unlock."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from entrasnap.cli.main import app
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.store import LocalBackend, Repository
from entrasnap.store.canonical import canonical_bytes
from entrasnap.store.lock import EXCLUSIVE, SHARED, LockedError, RepositoryLock, repository_locks
from entrasnap.store.record import format_time
from test_retention import TENANT, take, user

runner = CliRunner()


def backend(tmp_path: Path) -> LocalBackend:
    Repository.init(LocalBackend(tmp_path / "r", fsync=False))
    return LocalBackend(tmp_path / "r", fsync=False)


def plant(
    store: LocalBackend, kind: str, *, pid: int, host: str | None = None, age: timedelta = timedelta(0)
) -> str:
    """A lock file as another process would have written it."""
    key = f"locks/{kind}-{pid:032x}"
    info = {
        "host": host or socket.gethostname(),
        "pid": pid,
        "created": format_time(datetime.now(UTC) - age),
        "operation": "snapshot" if kind == SHARED else "prune",
    }
    assert store.create(key, canonical_bytes(info))
    return key


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def lock(store: LocalBackend, kind: str, **kwargs: object) -> RepositoryLock:
    return RepositoryLock(store, kind, operation="test", wait=0, settle=0, **kwargs)  # type: ignore[arg-type]


def test_shared_locks_coexist_and_exclude_an_exclusive_one(tmp_path: Path) -> None:
    store = backend(tmp_path)
    with lock(store, SHARED), lock(store, SHARED):
        assert [k.kind for k in repository_locks(store)] == [SHARED, SHARED]
        with pytest.raises(LockedError, match=r"locked by test \(process \d+ on "):
            lock(store, EXCLUSIVE).acquire()
        assert len(repository_locks(store)) == 2  # the loser removed its own lock file
    with lock(store, EXCLUSIVE):
        with pytest.raises(LockedError, match="locked exclusively by test"):
            lock(store, SHARED).acquire()
        with pytest.raises(LockedError, match="locked exclusively"):
            lock(store, EXCLUSIVE).acquire()
    assert repository_locks(store) == []


def test_waiting_succeeds_once_the_holder_releases(tmp_path: Path) -> None:
    store = backend(tmp_path)
    holder = lock(store, EXCLUSIVE)
    holder.acquire()
    waiter = RepositoryLock(store, SHARED, wait=10, settle=0)
    started = time.monotonic()
    timer = threading.Timer(0.5, holder.release)
    timer.start()
    with waiter:
        assert time.monotonic() - started >= 0.4
    timer.join()


def test_a_dead_process_lock_is_stale_and_recovered(tmp_path: Path) -> None:
    store = backend(tmp_path)
    gone = plant(store, SHARED, pid=dead_pid())
    with lock(store, EXCLUSIVE):
        assert not store.exists(gone)


def test_a_lock_not_refreshed_for_30_minutes_is_stale_even_from_another_host(tmp_path: Path) -> None:
    store = backend(tmp_path)
    old = plant(store, EXCLUSIVE, pid=1, host="elsewhere", age=timedelta(minutes=31))
    with lock(store, SHARED):
        assert not store.exists(old)


def test_a_live_lock_blocks_with_a_clear_message(tmp_path: Path) -> None:
    store = backend(tmp_path)
    plant(store, SHARED, pid=1, host="runner-7", age=timedelta(minutes=29))
    with pytest.raises(LockedError) as caught:
        lock(store, EXCLUSIVE).acquire()
    message = str(caught.value)
    assert "locked by snapshot (process 1 on runner-7" in message and "entrasnap unlock" in message
    store.create("locks/exclusive-0000", b"\x00garbage")
    with pytest.raises(LockedError, match="unreadable lock file locks/exclusive-0000"):
        lock(store, SHARED).acquire()


def test_refresh_replaces_the_lock_file_and_a_removed_lock_is_lost(tmp_path: Path) -> None:
    store = backend(tmp_path)
    held = lock(store, SHARED)
    held.acquire()
    first = held.key
    held.refresh()
    assert held.key != first and [k.key for k in repository_locks(store)] == [held.key]
    held.ensure_held()
    assert held.key is not None
    store.delete(held.key)  # another process judged it stale (e.g. this one was suspended)
    with pytest.raises(LockedError, match="was lost"):
        held.ensure_held()
    held.release()


def test_a_commit_under_a_lost_lock_is_refused(tmp_path: Path) -> None:
    """A snapshot suspended past the stale limit may have had its new packs pruned: it must not commit."""
    repo = Repository.init(LocalBackend(tmp_path / "r", fsync=False))
    with lock(repo.backend, SHARED) as held:  # type: ignore[arg-type]
        take(repo, "2026-01-01T00:00:00Z", [user(1)])
        held.refreshed -= timedelta(minutes=26).total_seconds()  # no refresh for 26 of 30 minutes
        writer = repo.writer({"tenant": TENANT})
        writer.add("users", user(2)["id"], user(2))
        writer.finish_type("users", "ok")
        with pytest.raises(LockedError, match="not refreshed for 25 min"):
            writer.commit("complete", {})
    assert len(Repository.open(LocalBackend(tmp_path / "r")).snapshots()) == 1


def test_the_refresh_thread_keeps_the_lock_fresh(tmp_path: Path) -> None:
    store = backend(tmp_path)
    with RepositoryLock(store, SHARED, wait=0, settle=0, refresh_every=timedelta(seconds=0.05)) as held:
        first = held.key
        time.sleep(0.3)
        assert held.key != first and len(repository_locks(store)) == 1
        held.ensure_held()


def cli(*args: object, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], env={"ENTRASNAP_LOCK_WAIT": "0", **(env or {})})


def test_unlock_removes_stale_locks_and_with_remove_all_every_lock(tmp_path: Path) -> None:
    store = backend(tmp_path)
    stale = plant(store, SHARED, pid=dead_pid())
    live = plant(store, EXCLUSIVE, pid=1, host="elsewhere")
    result = cli("unlock", "--store", tmp_path / "r")
    assert result.exit_code == 0 and "1 lock(s) removed" in result.stderr
    assert not store.exists(stale) and store.exists(live)
    result = cli("unlock", "--store", tmp_path / "r", "--remove-all")
    assert result.exit_code == 0 and not store.exists(live)
    assert "no stale locks" in cli("unlock", "--store", tmp_path / "r").stderr
    nowhere = cli("unlock", "--store", tmp_path / "nowhere")
    assert (
        nowhere.exit_code == 1
        and nowhere.stderr.startswith("error: ")
        and "not an entrasnap repository" in nowhere.stderr
    )


HOLD = """
import sys, time
from entrasnap.store import LocalBackend
from entrasnap.store.lock import RepositoryLock
with RepositoryLock(LocalBackend(sys.argv[1]), sys.argv[2], operation=sys.argv[3], wait=0, settle=0):
    print("held", flush=True)
    time.sleep(60)
"""


def hold(root: Path, kind: str, operation: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root), kind, operation], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    return process


def test_prune_and_forget_wait_for_a_running_snapshot_and_fail_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "r"
    take(Repository.init(LocalBackend(root)), "2026-01-01T00:00:00Z", [user(1)])
    snapshot = hold(root, SHARED, "snapshot")
    try:
        for args in (["prune"], ["forget", "--keep-last", "1"]):
            result = cli(*args, "--store", root)
            assert result.exit_code == 1
            line = result.stderr.strip()
            assert line.startswith("error: repository") and "\n" not in line
            assert f"locked by snapshot (process {snapshot.pid} on {socket.gethostname()}" in line
    finally:
        snapshot.kill()
        snapshot.wait()
    result = cli("prune", "--store", root)  # the killed holder's lock is stale now
    assert result.exit_code == 0, result.stderr


def test_a_snapshot_waits_for_a_prune(tmp_path: Path, fakegraph: RunningFakeGraph) -> None:
    root = tmp_path / "r"
    Repository.init(LocalBackend(root))
    args = ["--graph-url", fakegraph.url, "--access-token", "any", "--tenant", fakegraph.tenant_id]
    prune = hold(root, EXCLUSIVE, "prune")
    try:
        result = cli("snapshot", *args, "--store", root, "--types", "users")
    finally:
        prune.kill()
        prune.wait()
    assert result.exit_code == 1
    assert f"locked exclusively by prune (process {prune.pid}" in result.stderr
    assert Repository.open(LocalBackend(root)).snapshots() == []
    result = cli("snapshot", *args, "--store", root, "--types", "users")  # the dead prune's lock is stale
    assert result.exit_code == 0, result.stderr
    assert (
        len(Repository.open(LocalBackend(root)).snapshots()) == 1
        and repository_locks(LocalBackend(root)) == []
    )


def test_two_processes_committing_at_once_keep_one_unbroken_chain(tmp_path: Path) -> None:
    """Two writers (separate processes, as two scheduled runs would be) commit 8 snapshots each into one
    repository at the same time: every record lands, the chain has no fork or gap, and check is clean."""
    from entrasnap.store.check import check

    root = tmp_path / "repo"
    Repository.init(LocalBackend(root))
    script = """
import sys
from entrasnap.store import LocalBackend, Repository
repo = Repository.open(LocalBackend(sys.argv[1]))
for i in range(8):
    writer = repo.writer({"tenant": {"id": sys.argv[2]}})
    oid = f"{sys.argv[2]}-{i}"
    writer.add("users", oid, {"id": oid, "object": {"id": oid, "displayName": oid}}, oid)
    writer.finish_type("users", "ok")
    writer.commit("complete", {})
"""
    runs = [
        subprocess.Popen([sys.executable, "-c", script, str(root), tenant], stderr=subprocess.PIPE)
        for tenant in ("tenant-a", "tenant-b")
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr.decode()
    records = Repository.open(LocalBackend(root)).snapshots()
    assert len(records) == 16
    assert sorted(r.sequence for r in records) == list(range(1, 17))
    by_sequence = {r.sequence: r for r in records}
    assert all(by_sequence[n].previous == by_sequence[n - 1].hash for n in range(2, 17))
    report = check(LocalBackend(root), read_data=True)
    assert not report.damage, report.damage
