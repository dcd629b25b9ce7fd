"""Key files: an encrypted repository's master key, wrapped by an operator's key (docs/ENCRYPTION.md).

The master key (a data key and an id key, 32 random bytes each) is made once, when the repository is
created, and never changes: every object is sealed with it. What the operator holds is another key
that only unwraps it. ``keys/<sha256 of the file>`` holds one wrapped copy:

    {"algorithm": "aes-256-gcm", "created": "…", "wrapped": base64(nonce ‖ AES-256-GCM(operator key,
     canonical {"data": base64 data key, "ids": base64 id key}, associated data: "entrasnap key " + repository id))}

Key files are created once and never rewritten; rotation adds a file for the new operator key and
then deletes the old one.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from entrasnap.store.backend import Backend
from entrasnap.store.canonical import canonical_bytes, digest
from entrasnap.store.codec import PLAIN, Codec, DamagedError
from entrasnap.store.crypto import ALGORITHM, KEY_BYTES, EncryptedCodec, decrypt, encrypt
from entrasnap.store.errors import StoreError
from entrasnap.store.record import format_time

KEYS_PREFIX = "keys/"
KEY_HELP = "an encryption key is 32 random bytes in base64: make one with `entrasnap key generate-encryption`"


class EncryptionKeyError(StoreError):
    """An encryption key that is missing, wrong, malformed, or given where none belongs."""


def generate_key() -> str:
    """A new operator key: 32 random bytes, base64."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_key(text: str, source: str = "the encryption key") -> bytes:
    """The 32 key bytes of a base64 operator key (surrounding whitespace ignored)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionKeyError(f"{source} is not base64; {KEY_HELP}") from None
    if len(raw) != KEY_BYTES:
        raise EncryptionKeyError(f"{source} is {len(raw)} bytes, not {KEY_BYTES}; {KEY_HELP}")
    return raw


@dataclass(frozen=True)
class MasterKey:
    """The repository's own keys: ``data`` encrypts stored bytes, ``ids`` names objects (HMAC)."""

    data: bytes
    ids: bytes

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(KEY_BYTES), os.urandom(KEY_BYTES))

    def codec(self) -> EncryptedCodec:
        return EncryptedCodec(self.data, self.ids)


def _associated(repository_id: str) -> bytes:
    return f"entrasnap key {repository_id}".encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def key_file(repository_id: str, operator_key: bytes, master: MasterKey) -> bytes:
    """The bytes of a key file wrapping ``master`` under ``operator_key``."""
    secret = canonical_bytes({"data": _b64(master.data), "ids": _b64(master.ids)})
    wrapped = encrypt(operator_key, secret, _associated(repository_id))
    body = {"algorithm": ALGORITHM, "created": format_time(datetime.now(UTC)), "wrapped": _b64(wrapped)}
    return canonical_bytes(body)


def add_key(backend: Backend, repository_id: str, operator_key: bytes, master: MasterKey) -> str:
    """Store a new key file (create-only) wrapping ``master`` under ``operator_key``; returns its key."""
    stored = key_file(repository_id, operator_key, master)
    name = KEYS_PREFIX + digest(stored)
    if not backend.create(name, stored):
        raise StoreError(f"key file {name} already exists in {backend}")
    return name


def start_encryption(backend: Backend, repository_id: str, operator_key: bytes) -> tuple[str, EncryptedCodec]:
    """A new master key for a new repository: its key file (written) and its codec."""
    master = MasterKey.generate()
    return add_key(backend, repository_id, operator_key, master), master.codec()


def _unwrap(stored: bytes, repository_id: str, operator_key: bytes) -> MasterKey | None:
    """The master key a key file holds, or None when this operator key does not open it."""
    try:
        body: Any = json.loads(stored)
        wrapped = base64.b64decode(body["wrapped"], validate=True)
    except (ValueError, KeyError, TypeError):
        return None
    try:
        secret = json.loads(decrypt(operator_key, wrapped, _associated(repository_id)))
        return MasterKey(base64.b64decode(secret["data"]), base64.b64decode(secret["ids"]))
    except (DamagedError, ValueError, KeyError, TypeError):
        return None


def unlock(backend: Backend, repository_id: str, operator_key: bytes) -> tuple[MasterKey, list[str]]:
    """The master key, and the key files ``operator_key`` opens; EncryptionKeyError when it opens none."""
    names = list(backend.list(KEYS_PREFIX))
    if not names:
        raise EncryptionKeyError(
            f"{backend} is encrypted but holds no key file (keys/): it cannot be opened by any key"
        )
    master: MasterKey | None = None
    opened: list[str] = []
    for name in names:
        found = _unwrap(backend.read(name), repository_id, operator_key)
        if found is not None:
            master = master or found
            opened.append(name)
    if master is None:
        raise EncryptionKeyError(
            f"the encryption key does not open {backend}: none of its {len(names)} key file(s) accepts it "
            "(a wrong key, or one removed by `entrasnap key rotate-encryption`)"
        )
    return master, opened


def open_codec(backend: Backend, config: dict[str, Any], operator_key: bytes | None) -> Codec:
    """The codec a repository's config.json calls for, unlocked with ``operator_key`` when encrypted."""
    algorithm = config.get("encryption")
    if algorithm is None:
        if operator_key is not None:
            raise EncryptionKeyError(
                f"{backend} is not encrypted (it was created without a key): do not give an encryption "
                "key (--encryption-key or ENTRASNAP_ENCRYPTION_KEY) for it"
            )
        return PLAIN
    if algorithm != ALGORITHM:
        raise StoreError(f"{backend}/config.json names an unsupported encryption {algorithm!r}")
    if operator_key is None:
        raise EncryptionKeyError(
            f"{backend} is encrypted: give its key with --encryption-key REF or ENTRASNAP_ENCRYPTION_KEY "
            "(docs/ENCRYPTION.md)"
        )
    return unlock(backend, str(config["id"]), operator_key)[0].codec()


def rotate(backend: Backend, repository_id: str, old_key: bytes, new_key: bytes) -> tuple[str, list[str]]:
    """Let ``new_key`` open the repository instead of ``old_key``: (key file added, key files removed).

    The new key file is written and checked before the old one is deleted, so an interruption leaves
    both keys working, never neither.
    """
    if old_key == new_key:
        raise EncryptionKeyError("the new encryption key is the same as the old one")
    master, opened = unlock(backend, repository_id, old_key)
    added = add_key(backend, repository_id, new_key, master)
    if _unwrap(backend.read(added), repository_id, new_key) != master:
        raise StoreError(f"key file {added} does not read back; the old key file was kept")
    for name in opened:
        try:
            backend.delete(name)
        except StoreError as exc:
            raise EncryptionKeyError(
                f"the new key was added ({added}), but the old key file {name} could not be removed ({exc}); "
                "the old key opens the repository until it is"
            ) from exc
    return added, opened
