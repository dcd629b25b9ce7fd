"""Client-side encryption (docs/ENCRYPTION.md): snapshots through the CLI on an encrypted repository,
nothing readable on disk, deduplication kept, one-line key errors, tampering, rotation, Key Vault."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from azurite import ACCOUNT, Azurite
from entrasnap.cli.key_option import (
    KeyReferenceError,
    VaultSecret,
    operator_key,
    parse_vault_url,
    read_vault_secret,
)
from entrasnap.fakegraph import mutate
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.store import Backend, LocalBackend, Repository, StoreError
from entrasnap.store.codec import PLAIN, DamagedError
from entrasnap.store.keys import EncryptionKeyError, MasterKey, generate_key, parse_key, rotate
from test_snapshot_cli import cli, isolated, one_error_line
from test_snapshot_robustness import snapshot

__all__ = ["isolated"]  # the autouse fixture: no AZURE_/ENTRASNAP_ variables leak in

TYPES = ("--types", "users,groups")


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def readable(root: Path) -> bytes:
    """Everything a reader without the key can get at: every file's bytes plus every zlib stream in them."""
    found = []
    for data in files(root).values():
        found.append(data)
        for start in (i for i, byte in enumerate(data) if byte == 0x78):
            try:
                found.append(zlib.decompressobj().decompress(data[start:]))
            except zlib.error:
                continue
    return b"\n".join(found)


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    key = generate_key()
    monkeypatch.setenv("OPERATOR_KEY", key)
    return key


def test_encrypted_snapshots_round_trip_hide_content_and_still_dedup(
    fakegraph: RunningFakeGraph, tmp_path: Path, key_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "repo"
    user = dict(next(iter(fakegraph.store.sets["users"].after())))
    first, record = snapshot(fakegraph, store, "--encryption-key", "env:OPERATOR_KEY", *TYPES)
    assert first.exit_code == 0, first.stderr
    domain, tenant_id = record["tenant"]["domain"], record["tenant"]["id"]
    config = json.loads((store / "config.json").read_bytes())
    assert config["encryption"] == "aes-256-gcm"
    assert len(list((store / "keys").iterdir())) == 1

    visible = readable(store)
    for secret in (user["displayName"], user["id"], domain, tenant_id, user["userPrincipalName"]):
        assert secret.encode() not in visible, secret
    assert b'"displayName"' not in visible and b'"types"' not in visible

    # unchanged tenant: the second snapshot writes only its record (every object is found by its HMAC id)
    before = files(store)
    monkeypatch.setenv("ENTRASNAP_ENCRYPTION_KEY", key_env)  # the key itself, as a scheduler injects it
    second, record2 = snapshot(fakegraph, store, *TYPES)
    assert second.exit_code == 0, second.stderr
    assert record2["stats"]["objectsWritten"] == 0 and record2["stats"]["objectsReused"] > 0
    added = set(files(store)) - set(before)
    assert len(added) == 1 and next(iter(added)).startswith("snapshots/")

    with fakegraph.fake.lock:
        mutate.apply(fakegraph.store, {"action": "rename", "id": user["id"], "displayName": "Renamed Person"})
    third, _ = snapshot(fakegraph, store, *TYPES)
    assert third.exit_code == 0, third.stderr
    assert b"Renamed Person" not in readable(store)

    listed = cli("list", "--store", store, "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [s["tenant"] for s in json.loads(listed.stdout)] == [domain] * 3
    shown = cli("show", "users", user["id"], "--store", store, "--json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["object"]["displayName"] == "Renamed Person"
    old = cli("show", "users", user["id"], "--at", record2["id"], "--store", store, "--json")
    assert json.loads(old.stdout)["object"]["displayName"] == user["displayName"]
    changes = cli("diff", "previous", "latest", "--store", store, "--format", "json")
    assert changes.exit_code == 0, changes.stderr
    assert "Renamed Person" in changes.stdout


def test_the_readable_check_finds_what_a_plain_repository_shows(tmp_path: Path) -> None:
    """The control for the test above: without encryption, names and the tenant are readable on disk."""
    repository = Repository.init(LocalBackend(tmp_path / "plain"))
    writer = repository.writer({"tenant": {"id": "t-1", "domain": "plain.example"}})
    writer.add("users", "u-1", {"id": "u-1", "object": {"displayName": "Visible Person"}}, "Visible Person")
    writer.finish_type("users", "ok")
    writer.commit("complete", {})
    visible = readable(tmp_path / "plain")
    assert b"Visible Person" in visible and b"plain.example" in visible


def encrypted_repository(root: Path | Backend, key: str) -> tuple[Repository, str]:
    """An encrypted repository with one snapshot of one object; (repository, the object's hash)."""
    backend = LocalBackend(root) if isinstance(root, Path) else root
    repository = Repository.init(backend, key=parse_key(key))
    writer = repository.writer({"tenant": {"id": "t-1", "domain": "secret.example"}})
    writer.add("users", "u-1", {"id": "u-1", "object": {"displayName": "Hidden Person"}}, "Hidden Person")
    writer.finish_type("users", "ok")
    writer.commit("complete", {})
    (_, object_hash, _), *_ = repository.named_entries(repository.find("latest"), "users")
    return repository, object_hash


def test_key_errors_are_one_line(tmp_path: Path, key_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    encrypted, plain = tmp_path / "encrypted", tmp_path / "plain"
    encrypted_repository(encrypted, key_env)
    Repository.init(LocalBackend(plain))
    monkeypatch.setenv("OTHER_KEY", generate_key())
    (tmp_path / "short.key").write_text(base64.b64encode(b"x" * 16).decode())

    one_error_line(cli("list", "--store", encrypted), "is encrypted", "--encryption-key")
    one_error_line(cli("list", "--store", encrypted, "--encryption-key", "env:OTHER_KEY"), "does not open")
    one_error_line(cli("list", "--store", plain, "--encryption-key", "env:OPERATOR_KEY"), "is not encrypted")
    raw = cli("list", "--store", encrypted, "--encryption-key", key_env)
    one_error_line(raw, "never the key itself", "process lists")
    one_error_line(
        cli("list", "--store", encrypted, "--encryption-key", "env:UNSET_KEY"), "UNSET_KEY is not set"
    )
    one_error_line(
        cli("list", "--store", encrypted, "--encryption-key", f"file:{tmp_path}/none"), "cannot read"
    )
    one_error_line(
        cli("list", "--store", encrypted, "--encryption-key", f"file:{tmp_path}/short.key"), "16 bytes"
    )
    one_error_line(
        cli("list", "--store", encrypted, "--encryption-key", "https://v.example/keys/x"), "Key Vault"
    )
    monkeypatch.setenv("ENTRASNAP_ENCRYPTION_KEY", "not base64!")
    one_error_line(cli("list", "--store", encrypted), "ENTRASNAP_ENCRYPTION_KEY is not base64")
    monkeypatch.setenv("ENTRASNAP_ENCRYPTION_KEY", "env:OPERATOR_KEY")  # a reference works there too
    assert cli("list", "--store", encrypted, "--json").exit_code == 0


def test_tampered_ciphertext_reads_as_damage(tmp_path: Path, key_env: str) -> None:
    root = tmp_path / "repo"
    repository, object_hash = encrypted_repository(root, key_env)
    clean = cli("check", "--read-data", "--store", root, "--encryption-key", "env:OPERATOR_KEY")
    assert clean.exit_code == 0, clean.stdout + clean.stderr
    pack_id, offset, length = repository.locate(object_hash) or ("", 0, 0)
    pack = root / "data" / pack_id[:2] / pack_id
    data = bytearray(pack.read_bytes())
    data[offset + length // 2] ^= 0x01  # one bit, in the middle of the ciphertext
    pack.write_bytes(bytes(data))
    reopened = Repository.open(LocalBackend(root), key=parse_key(key_env))
    with pytest.raises(StoreError, match=f"object {object_hash} is damaged"):
        reopened.get(object_hash)

    checked = cli("check", "--read-data", "--store", root, "--encryption-key", "env:OPERATOR_KEY", "--json")
    assert checked.exit_code != 0
    assert [p["file"] for p in json.loads(checked.stdout)["problems"]] == [f"data/{pack_id[:2]}/{pack_id}"]

    record = next((root / "snapshots").iterdir())
    body = bytearray(record.read_bytes())
    body[-1] ^= 0x01  # the tag
    record.write_bytes(bytes(body))
    with pytest.raises(StoreError, match="is damaged"):
        Repository.open(LocalBackend(root), key=parse_key(key_env)).snapshots()


def test_rotation_keeps_data_readable_with_the_new_key_only(
    tmp_path: Path, key_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    encrypted_repository(root, key_env)
    generated = cli("key", "generate-encryption")
    assert generated.exit_code == 0
    new_key = generated.stdout.strip()
    assert len(parse_key(new_key)) == 32 and new_key != key_env
    (tmp_path / "new.key").write_text(new_key + "\n")
    old_files = set((root / "keys").iterdir())

    rotate = ("key", "rotate-encryption", "--store", root, "--from", "env:OPERATOR_KEY", "--to")
    rotated = cli(*rotate, f"file:{tmp_path}/new.key")
    assert rotated.exit_code == 0, rotated.stderr
    assert not old_files & set((root / "keys").iterdir()) and len(list((root / "keys").iterdir())) == 1

    shown = cli(
        "show",
        "users",
        "Hidden Person",
        "--store",
        root,
        "--encryption-key",
        f"file:{tmp_path}/new.key",
        "--json",
    )
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["object"]["displayName"] == "Hidden Person"
    one_error_line(cli("list", "--store", root, "--encryption-key", "env:OPERATOR_KEY"), "does not open")
    one_error_line(cli(*rotate, f"file:{tmp_path}/new.key"), "does not open")


def test_encrypted_repository_on_azure_blob(azurite: Azurite, azure_env: None, key_env: str) -> None:
    """Key files are created, listed and deleted through the Azure backend like any other file."""
    from entrasnap.cli.store_option import open_store

    backend = open_store(
        f"az://{ACCOUNT}/{azurite.new_container()}",
        {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string},
    )
    repository, object_hash = encrypted_repository(backend, key_env)
    new_key = parse_key(generate_key())
    added, removed = rotate(backend, repository.id, parse_key(key_env), new_key)
    assert list(backend.list("keys/")) == [added] and removed and added not in removed
    reopened = Repository.open(backend, key=new_key)
    assert reopened.get(object_hash)["object"] == {"displayName": "Hidden Person"}
    assert reopened.find("latest").tenant["domain"] == "secret.example"
    with pytest.raises(EncryptionKeyError, match="does not open"):
        Repository.open(backend, key=parse_key(key_env))


def test_codec_ids_are_keyed_and_sealing_is_randomised() -> None:
    one, other = MasterKey.generate().codec(), MasterKey.generate().codec()
    data = b'{"id":"u-1"}'
    assert one.object_id(data) == one.object_id(data) != other.object_id(data)
    assert one.object_id(data) != PLAIN.object_id(data)
    first, second = one.seal(data), one.seal(data)
    assert first != second and one.unseal(first) == one.unseal(second) == data
    with pytest.raises(DamagedError, match="authentication failed"):
        other.unseal(first)
    with pytest.raises(EncryptionKeyError, match="not base64"):
        parse_key("****")


# --- Azure Key Vault ---------------------------------------------------------------------------------


def test_vault_urls_parse() -> None:
    assert parse_vault_url("https://kv1.vault.azure.net/secrets/entrasnap") == VaultSecret(
        "https://kv1.vault.azure.net", "entrasnap", None
    )
    assert parse_vault_url("https://kv1.vault.azure.cn/secrets/entrasnap/0123abcd/") == VaultSecret(
        "https://kv1.vault.azure.cn", "entrasnap", "0123abcd"
    )
    for bad in (
        "http://kv1.vault.azure.net/secrets/x",
        "https://kv1.vault.azure.net/keys/x",
        "https://kv1.vault.azure.net/secrets",
        "https://kv1.vault.azure.net/secrets/x/v/extra",
        "https://kv1.vault.azure.net/secrets/x?api-version=7.4",
    ):
        with pytest.raises(KeyReferenceError, match="not a Key Vault secret URL"):
            parse_vault_url(bad)


class FakeVault(BaseHTTPRequestHandler):
    """Key Vault's secret GET on loopback TLS: a 401 challenge without a token, the secret with one."""

    secrets: dict[str, str] = {}
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        self.seen.append((self.path, auth))
        if auth is None:
            self.send_response(401)
            self.send_header(
                "WWW-Authenticate",
                'Bearer authorization="https://login.microsoftonline.com/tenant-1", resource="https://vault.azure.net"',
            )
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        name = self.path.split("?")[0].split("/")[2]
        if name in self.secrets:
            url = f"https://{self.headers['Host']}/secrets/{name}/v1"
            body = {"value": self.secrets[name], "id": url, "attributes": {"enabled": True}}
            status = 200
        else:
            message = f"A secret with (name/id) {name} was not found in this key vault."
            body = {"error": {"code": "SecretNotFound", "message": message}}
            status = 404
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


class FakeCredential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken("vault-token", int(time.time()) + 3600)


@pytest.fixture
def fake_vault(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    from test_graph_credentials import write_certificate

    cert, pem = write_certificate(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeVault)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeVault.seen.clear()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def test_key_vault_secret_is_fetched_with_the_sdk(fake_vault: tuple[str, Path]) -> None:
    """The real SecretClient against a fake vault on loopback TLS (its resource check is off: a loopback
    address cannot be a vault.azure.net host); the CLI itself uses DefaultAzureCredential."""
    url, cert = fake_vault
    key = generate_key()
    FakeVault.secrets = {"entrasnap-key": key + "\n"}
    credential = FakeCredential()
    reader = partial(
        read_vault_secret, credential=credential, verify_challenge_resource=False, connection_verify=str(cert)
    )
    assert operator_key(f"{url}/secrets/entrasnap-key", {}, reader) == parse_key(key)
    assert credential.scopes == [("https://vault.azure.net/.default",)]
    assert FakeVault.seen[-1][1] == "Bearer vault-token"
    assert FakeVault.seen[-1][0].startswith("/secrets/entrasnap-key")
    # ENTRASNAP_ENCRYPTION_KEY may hold the reference too, with a version
    assert operator_key(None, {"ENTRASNAP_ENCRYPTION_KEY": f"{url}/secrets/entrasnap-key/v1"}, reader)
    assert FakeVault.seen[-1][0].startswith("/secrets/entrasnap-key/v1")
    with pytest.raises(KeyReferenceError, match="cannot read secret 'missing' \\(404") as raised:
        operator_key(f"{url}/secrets/missing", {}, reader)
    assert "\n" not in str(raised.value)
