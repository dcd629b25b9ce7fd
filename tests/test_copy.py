"""copy: snapshots replicated into another repository (local, encrypted, Azure Blob on Azurite), incrementally."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from azurite import ACCOUNT, Azurite
from entrasnap.cli.main import app
from entrasnap.cli.store_option import open_store
from entrasnap.store import LocalBackend, Repository, StoreError
from entrasnap.store.copy import Copier
from test_retention import OTHER, TENANT, Reads, chain_gaps, files, new_repo, take, user

runner = CliRunner()


def source(root: Path) -> Repository:
    repo = new_repo(root)
    take(repo, "2026-01-01T10:00:00Z", [user(i) for i in range(30)])
    take(repo, "2026-01-01T11:00:00Z", [user(i + 100) for i in range(5)], OTHER)
    take(repo, "2026-01-02T10:00:00Z", [user(i, 1 if i < 3 else 0) for i in range(30)])
    return repo


def content(repo: Repository) -> dict[str, Any]:
    """Per snapshot id: the record without chain and manifest fields, and every object by type and id."""
    out = {}
    for record in repo.snapshots():
        data = {k: v for k, v in record.data.items() if k not in {"sequence", "previous", "copiedFrom"}}
        data["types"] = {k: {f: v for f, v in i.items() if f != "manifest"} for k, i in record.types.items()}
        objects = {
            k: [(e[0], e[2], repo.get(e[1])) for e in repo.named_entries(record, k)] for k in record.types
        }
        out[record.id] = (data, objects)
    return out


def test_copy_is_complete_then_incremental(tmp_path: Path) -> None:
    src = source(tmp_path / "a")
    dst = Repository.open(LocalBackend(tmp_path / "b", fsync=False), create=True)
    first = Copier(src, dst).copy()
    assert len(first.copied) == 3 and first.skipped == [] and first.stats.objects_written > 35
    assert content(Repository.open(LocalBackend(tmp_path / "b"))) == content(src)
    copied = Repository.open(LocalBackend(tmp_path / "b")).snapshots()
    assert [r.data["copiedFrom"]["hash"] for r in copied] == [r.hash for r in src.snapshots()]
    assert chain_gaps(tmp_path / "b") == []
    reads = Reads(tmp_path / "b")
    content(Repository.open(reads))
    assert reads.missed == []  # locations in the copy are the copy's own

    untouched = files(tmp_path / "b")
    again = Copier(src, Repository.open(LocalBackend(tmp_path / "b"))).copy()
    assert again.copied == [] and len(again.skipped) == 3 and again.stats.objects_written == 0
    assert files(tmp_path / "b") == untouched

    take(src, "2026-01-03T10:00:00Z", [user(i, 2 if i < 2 else (1 if i < 3 else 0)) for i in range(30)])
    dst = Repository.open(LocalBackend(tmp_path / "b"))
    third = Copier(src, dst).copy(tenant=TENANT["domain"])
    # two changed users, the chunk holding them and the manifest: nothing else is sent again
    assert len(third.copied) == 1 and third.stats.objects_written == 4
    assert content(Repository.open(LocalBackend(tmp_path / "b"))) == content(src)


def test_copy_joins_the_targets_own_chain_and_filters_by_tenant(tmp_path: Path) -> None:
    src = source(tmp_path / "a")
    dst = new_repo(tmp_path / "b")
    own = take(dst, "2025-12-01T00:00:00Z", [user(7)])
    result = Copier(src, dst).copy(tenant=OTHER["id"].upper())
    assert [r.tenant["id"] for r in result.copied] == [OTHER["id"]]
    assert result.copied[0].sequence == own.sequence + 1 and result.copied[0].previous == own.hash
    assert chain_gaps(tmp_path / "b") == []
    with pytest.raises(StoreError, match="same repository"):
        Copier(src, Repository.open(LocalBackend(tmp_path / "a")))


def test_copy_into_an_encrypted_repository_and_back(tmp_path: Path) -> None:
    """Object names differ (keyed hashes there): manifests are rebuilt, the objects read back the same."""
    src = source(tmp_path / "a")
    key = os.urandom(32)
    secret = Repository.init(LocalBackend(tmp_path / "enc", fsync=False), key=key)
    Copier(src, secret).copy()
    reopened = Repository.open(LocalBackend(tmp_path / "enc"), key=key)
    assert content(reopened) == content(src)
    assert b"User 1" not in b"".join(files(tmp_path / "enc").values())
    plain = Repository.open(LocalBackend(tmp_path / "plain", fsync=False), create=True)
    Copier(reopened, plain).copy()
    assert content(Repository.open(LocalBackend(tmp_path / "plain"))) == content(src)


def cli(*args: object, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], env={"ENTRASNAP_LOCK_WAIT": "0", **(env or {})})


def test_copy_cli_local_to_local(tmp_path: Path) -> None:
    source(tmp_path / "a")
    result = cli("copy", "--from", tmp_path / "a", "--to", tmp_path / "b", "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert len(body["copied"]) == 3 and body["objectsWritten"] > 0
    again = cli("copy", "--from", tmp_path / "a", "--to", tmp_path / "b")
    assert again.exit_code == 0 and "0 snapshot(s) copied, 3 already there; 0 objects written" in again.stderr
    missing = cli("copy", "--from", tmp_path / "nowhere", "--to", tmp_path / "b")
    assert (
        missing.exit_code == 1 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr
    )


def test_copies_are_signed_with_the_targets_key(tmp_path: Path) -> None:
    """A source signature covers the source's bytes (sequence, previous): it is dropped; --signing-key signs."""
    from entrasnap.store.signing import generate, public_key_from_file, signer_from_file, verify

    private, public = tmp_path / "key.pem", tmp_path / "key.pub"
    pem, pub = generate()
    private.write_bytes(pem)
    public.write_bytes(pub)
    src = source(tmp_path / "a")
    src.signer = signer_from_file(private)
    assert "signature" in take(src, "2026-01-05T10:00:00Z", [user(1)]).data
    unsigned = cli("copy", "--from", tmp_path / "a", "--to", tmp_path / "b")
    assert unsigned.exit_code == 0, unsigned.stderr
    assert all("signature" not in r.data for r in Repository.open(LocalBackend(tmp_path / "b")).snapshots())
    result = cli("copy", "--from", tmp_path / "a", "--to", tmp_path / "c", "--signing-key", private)
    assert result.exit_code == 0, result.stderr
    copies = Repository.open(LocalBackend(tmp_path / "c")).snapshots()
    keys = [public_key_from_file(public)]
    assert len(copies) == 4 and all(verify(r.data, keys).status == "valid" for r in copies)


def test_copy_local_to_azure(tmp_path: Path, azurite: Azurite, azure_env: None) -> None:
    src = source(tmp_path / "a")
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    remote = f"az://{ACCOUNT}/{azurite.new_container()}/replica"
    result = cli("copy", "--from", tmp_path / "a", "--to", remote, env=env)
    assert result.exit_code == 0, result.stderr
    on_azure = Repository.open(open_store(remote, env))
    assert content(on_azure) == content(src) and chain_gaps_of(on_azure) == []
    again = cli("copy", "--from", tmp_path / "a", "--to", remote, env=env)
    assert again.exit_code == 0 and "3 already there; 0 objects written" in again.stderr
    back = cli("copy", "--from", remote, "--to", tmp_path / "back", env=env)
    assert back.exit_code == 0, back.stderr
    assert content(Repository.open(LocalBackend(tmp_path / "back"))) == content(src)

    # retention on Azure Blob: forget the older contoso snapshot, prune what it alone used
    forgot = cli("forget", "--store", remote, "--keep-last", "1", "--tenant", TENANT["domain"], env=env)
    assert forgot.exit_code == 0, forgot.stderr
    pruned = cli("prune", "--store", remote, "--max-unused", "0", env=env)
    assert pruned.exit_code == 0 and "storage after:" in pruned.stderr, pruned.stderr
    kept = {k: v for k, v in content(src).items() if k != src.snapshots()[0].id}
    assert content(Repository.open(open_store(remote, env))) == kept


def chain_gaps_of(repo: Repository) -> list[int]:
    records = sorted(repo.snapshots(), key=lambda r: r.sequence)
    return [
        r.sequence
        for n, r in enumerate(records)
        if r.sequence != n + 1 or r.previous != (records[n - 1].hash if n else None)
    ]
