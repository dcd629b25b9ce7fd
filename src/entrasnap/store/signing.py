"""Ed25519 signatures on snapshot records (docs/FORMAT.md, "Signatures"; docs/SECURITY.md).

A signed record carries ``"signature": {"alg": "Ed25519", "key": <fingerprint>, "value": <base64>}``
where the value signs the canonical bytes of the record without its ``signature`` field, and the
fingerprint is the sha256 (hex) of the raw 32-byte public key. Keys are PEM files (PKCS#8 private,
SubjectPublicKeyInfo public), as ``openssl genpkey -algorithm ed25519`` writes them. ``cryptography``
is imported only when a key is used, so reading repositories stays fast to start.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entrasnap.store.canonical import canonical_bytes
from entrasnap.store.errors import StoreError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
SIGNATURE_FIELD = "signature"

Signer = Callable[[bytes], dict[str, Any]]
"""Given the canonical bytes of a record without its signature, the record's ``signature`` field."""


class SigningKeyError(StoreError):
    """A key file that is not the kind of key expected (one line, naming the file)."""


def unsigned_bytes(data: dict[str, Any]) -> bytes:
    """The bytes a record's signature covers: its canonical JSON without the ``signature`` field."""
    return canonical_bytes({k: v for k, v in data.items() if k != SIGNATURE_FIELD})


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """sha256 (hex) of the raw 32-byte public key: how a record names the key that signed it."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def generate() -> tuple[bytes, bytes]:
    """A new key pair as (private PEM, public PEM); the private key is not encrypted."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return private, public


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def load_private_key(pem: bytes, source: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM; SigningKeyError naming ``source`` otherwise."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem, password=None)
    except TypeError as exc:  # encrypted with a passphrase
        raise SigningKeyError(
            f"{source}: the private key is encrypted; entrasnap needs an unencrypted key"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{source} is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{source} is not an Ed25519 private key ({type(key).__name__})")
    return key


def load_public_key(pem: bytes, source: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; SigningKeyError naming ``source`` otherwise."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        hint = " (that is the private key: give the public one)" if b"PRIVATE KEY" in pem else ""
        raise SigningKeyError(f"{source} is not a PEM public key{hint}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{source} is not an Ed25519 public key ({type(key).__name__})")
    return key


def read_key_file(path: Path, what: str) -> bytes:
    """A key file's bytes; SigningKeyError (one line) when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise SigningKeyError(f"{what} {path} is a directory, not a key file") from None
    except OSError as exc:
        raise SigningKeyError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def signer_from_file(path: Path) -> Signer:
    """The Signer of the Ed25519 private key in a PEM file (snapshot --signing-key)."""
    return signer(load_private_key(read_key_file(path, "signing key"), str(path)))


def public_key_from_file(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file (check --public-key)."""
    return load_public_key(read_key_file(path, "public key"), str(path))


def signer(private_key: Ed25519PrivateKey) -> Signer:
    """A Signer for SnapshotWriter: signs the unsigned record bytes it is given."""
    key_id = fingerprint(private_key.public_key())

    def sign(unsigned: bytes) -> dict[str, Any]:
        value = base64.b64encode(private_key.sign(unsigned)).decode("ascii")
        return {"alg": ALGORITHM, "key": key_id, "value": value}

    return sign


@dataclass(frozen=True)
class Verdict:
    """What a record's signature says under a public key: ``status`` and a one-line reason."""

    status: str  # "valid", "unsigned", "other-key", "invalid"
    detail: str = ""


def verify(data: dict[str, Any], public_keys: Sequence[Ed25519PublicKey]) -> Verdict:
    """Whether a parsed record carries a valid signature by one of ``public_keys`` (old and new keys,
    after a rotation)."""
    from cryptography.exceptions import InvalidSignature

    signature = data.get(SIGNATURE_FIELD)
    if signature is None:
        return Verdict("unsigned", "the record is not signed")
    if not isinstance(signature, dict) or signature.get("alg") != ALGORITHM:
        return Verdict("invalid", f"the signature field is malformed or not {ALGORITHM}")
    keys = {fingerprint(key): key for key in public_keys}
    public_key = keys.get(str(signature.get("key")))
    if public_key is None:
        given = ", ".join(f"{k[:16]}…" for k in keys)
        return Verdict("other-key", f"signed by key {str(signature.get('key'))[:16]}…, not by {given}")
    try:
        value = base64.b64decode(str(signature.get("value")), validate=True)
        public_key.verify(value, unsigned_bytes(data))
    except (ValueError, InvalidSignature):
        return Verdict("invalid", "the signature does not match the record's content (altered after signing)")
    return Verdict("valid")
