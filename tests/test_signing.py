"""Signed snapshot records: `entrasnap key generate`, `snapshot --signing-key`, `check --public-key`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from entrasnap.cli.main import app
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.store import LocalBackend, Repository
from entrasnap.store.canonical import canonical_bytes
from entrasnap.store.check import check
from entrasnap.store.signing import (
    fingerprint,
    load_private_key,
    load_public_key,
    signer,
    unsigned_bytes,
    verify,
)
from test_snapshot_cli import one_error_line
from test_store import snapshot, user

runner = CliRunner()


def cli(*args: object, env: dict[str, str] | None = None) -> Result:
    result = runner.invoke(app, [str(a) for a in args], env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture(autouse=True)
def no_outside_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_", "ENTRASNAP_")):
            monkeypatch.delenv(name)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    """A key pair made by `entrasnap key generate`: (private, public)."""
    result = cli("key", "generate", "--out", tmp_path / "signing.pem")
    assert result.exit_code == 0, result.stderr
    return tmp_path / "signing.pem", tmp_path / "signing.pub.pem"


def records(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_bytes()) for p in sorted((root / "snapshots").glob("*.json"))]


def signed_repo(root: Path, private: Path, count: int = 3) -> Repository:
    repo = Repository.open(LocalBackend(root), create=True)
    repo.signer = signer(load_private_key(private.read_bytes(), str(private)))
    for n in range(count):
        snapshot(repo, [user(i, f"User {i} v{n}") for i in range(5)], started=f"2026-01-0{n + 1}T00:00:00Z")
    return repo


def test_key_generate_writes_a_private_key_only_its_owner_reads(
    keys: tuple[Path, Path], tmp_path: Path
) -> None:
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = load_public_key(public.read_bytes(), str(public))
    assert fingerprint(key) == fingerprint(load_private_key(private.read_bytes(), "x").public_key())
    again = cli("key", "generate", "--out", private)
    one_error_line(again, str(private), "exists")
    assert load_public_key(public.read_bytes(), "x").public_bytes_raw() == key.public_bytes_raw()
    printed = cli("key", "generate", "--out", tmp_path / "other.pem")
    assert printed.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert printed.stdout == (tmp_path / "other.pub.pem").read_text()
    assert "fingerprint: " in printed.stderr


def test_signature_covers_the_record_without_itself(keys: tuple[Path, Path], tmp_path: Path) -> None:
    private, public = keys
    signed_repo(tmp_path / "repo", private, count=2)
    first, second = records(tmp_path / "repo")
    key = load_public_key(public.read_bytes(), "pub")
    assert first["signature"]["alg"] == "Ed25519"
    assert first["signature"]["key"] == fingerprint(key)
    assert verify(first, [key]).status == "valid"
    key.verify(base64.b64decode(first["signature"]["value"]), unsigned_bytes(first))
    # the chain names the signed bytes: the signature is part of what the successor's previous covers
    assert second["previous"] == hashlib.sha256(canonical_bytes(first)).hexdigest()


def test_check_verifies_every_signature(keys: tuple[Path, Path], tmp_path: Path) -> None:
    private, public = keys
    root = tmp_path / "repo"
    signed_repo(root, private)
    result = cli("check", "--store", root, "--public-key", public)
    assert result.exit_code == 0, result.stdout
    assert "3 valid" in result.stdout
    report = json.loads(cli("check", "--store", root, "--public-key", public, "--json").stdout)
    assert report["signatures"]["valid"] == 3
    assert report["signatures"]["keys"] == [fingerprint(load_public_key(public.read_bytes(), "pub"))]


def test_unsigned_record_is_damage_with_a_key_and_a_warning_without(
    keys: tuple[Path, Path], tmp_path: Path
) -> None:
    private, public = keys
    root = tmp_path / "repo"
    repo = signed_repo(root, private, count=2)
    repo.signer = None
    unsigned = snapshot(repo, [user(1)], started="2026-02-01T00:00:00Z")
    report = check(LocalBackend(root), public_keys=[load_public_key(public.read_bytes(), "pub")])
    assert [(p.key, p.severity) for p in report.problems] == [(unsigned.key, "damage")]
    assert "unsigned" in report.problems[0].message
    without = check(LocalBackend(root))
    assert [(p.key, p.severity) for p in without.problems] == [(unsigned.key, "warning")]
    assert without.exit_code() == 0 and without.exit_code(strict=True) == 1


def test_another_key_is_named_and_rotated_keys_verify_together(
    keys: tuple[Path, Path], tmp_path: Path
) -> None:
    private, public = keys
    root = tmp_path / "repo"
    signed_repo(root, private, count=1)
    assert cli("key", "generate", "--out", tmp_path / "other.pem").exit_code == 0
    result = cli("check", "--store", root, "--public-key", tmp_path / "other.pub.pem")
    assert result.exit_code == 1
    assert "signature other-key: signed by key" in result.stdout
    repo = Repository.open(LocalBackend(root))
    repo.signer = signer(load_private_key((tmp_path / "other.pem").read_bytes(), "other"))
    snapshot(repo, [user(1)], started="2026-02-01T00:00:00Z")  # after a key rotation
    both = cli("check", "--store", root, "--public-key", public, "--public-key", tmp_path / "other.pub.pem")
    assert both.exit_code == 0, both.stdout
    assert "2 valid" in both.stdout


def test_altered_signed_record_fails_its_signature(keys: tuple[Path, Path], tmp_path: Path) -> None:
    """The newest record (no successor to break the chain) edited: only the signature shows it."""
    private, public = keys
    root = tmp_path / "repo"
    signed_repo(root, private)
    head = sorted((root / "snapshots").glob("*.json"))[-1]
    data = json.loads(head.read_bytes())
    data["types"]["users"]["count"] = 4
    head.write_bytes(canonical_bytes(data))
    unkeyed = check(LocalBackend(root))
    assert unkeyed.exit_code() == 0  # the chain cannot see an edit of its head
    report = check(LocalBackend(root), public_keys=[load_public_key(public.read_bytes(), "pub")])
    assert [p.key for p in report.damage] == [f"snapshots/{head.name}"]
    assert "altered after signing" in report.damage[0].message


def test_bad_key_files_in_one_line(keys: tuple[Path, Path], tmp_path: Path) -> None:
    private, _ = keys
    root = tmp_path / "repo"
    signed_repo(root, private, count=1)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    cases: list[tuple[Path, tuple[str, ...]]] = [
        (tmp_path / "absent.pem", ("absent.pem", "does not exist")),
        (garbage, ("garbage.pem", "not a PEM public key")),
        (private, ("that is the private key",)),
        (tmp_path, ("is a directory",)),
    ]
    for path, needles in cases:
        result = cli("check", "--store", root, "--public-key", path)
        assert result.exit_code == 2
        one_error_line(result, *needles)


def test_snapshot_signs_with_the_key_from_option_or_env(
    fakegraph_factory: Callable[..., RunningFakeGraph], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    private, public = keys
    fg = fakegraph_factory(time_scale=0.02, throttling=False)
    store = tmp_path / "repo"
    base = ("snapshot", "--graph-url", fg.url, "--access-token", fg.token(), "--tenant", fg.tenant_id)
    base += ("--store", store, "--types", "users", "--json")
    assert cli(*base, "--signing-key", private).exit_code == 0
    assert cli(*base, env={"ENTRASNAP_SIGNING_KEY": str(private)}).exit_code == 0
    assert cli(*base).exit_code == 0  # no key: unsigned
    assert ["signature" in r for r in records(store)].count(True) == 2
    checked = cli("check", "--store", store, "--public-key", public, "--json")
    assert checked.exit_code == 1
    report = json.loads(checked.stdout)
    assert report["signatures"]["valid"] == 2 and report["signatures"]["unsigned"] == 1
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    failed = cli(*base, "--signing-key", bad)
    one_error_line(failed, "bad.pem", "not a PEM private key")
    assert len(records(store)) == 3
