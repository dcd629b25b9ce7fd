"""The encrypted codec: HMAC-SHA256 object ids and AES-256-GCM stored forms (docs/ENCRYPTION.md).

Object ids are ``HMAC-SHA256(id key, canonical bytes)``: equal content still has an equal id (so a
repository deduplicates as before), but an id no longer reveals the hash of a guessable plaintext.
Stored bytes are ``nonce (12 random bytes) ‖ AES-256-GCM(data key, nonce, zlib(data))`` (ciphertext
followed by GCM's 16-byte tag): any change to them fails authentication and reads as damage.
"""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from entrasnap.store.codec import PLAIN, DamagedError

ALGORITHM = "aes-256-gcm"
"""The ``encryption`` value of an encrypted repository's config.json."""
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


def encrypt(key: bytes, data: bytes, associated: bytes | None = None) -> bytes:
    """``nonce ‖ ciphertext ‖ tag`` of data under a 256-bit key, with a fresh random nonce."""
    return _encrypt(AESGCM(key), data, associated)


def decrypt(key: bytes, sealed: bytes, associated: bytes | None = None) -> bytes:
    """data from ``encrypt``'s output; DamagedError when it was altered or sealed under another key."""
    return _decrypt(AESGCM(key), sealed, associated)


def _encrypt(aead: AESGCM, data: bytes, associated: bytes | None) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, data, associated)


def _decrypt(aead: AESGCM, sealed: bytes, associated: bytes | None) -> bytes:
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise DamagedError("too short to be encrypted data")
    try:
        return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)
    except InvalidTag:
        raise DamagedError("authentication failed (altered, or encrypted with another key)") from None


class EncryptedCodec:
    """The codec of an encrypted repository, made from its master key (two 256-bit keys)."""

    name = ALGORITHM

    def __init__(self, data_key: bytes, id_key: bytes) -> None:
        if len(data_key) != KEY_BYTES or len(id_key) != KEY_BYTES:
            raise ValueError("the data key and the id key are 32 bytes each")
        self._id_key = id_key
        self._aead = AESGCM(data_key)

    def object_id(self, data: bytes) -> str:
        return hmac.digest(self._id_key, data, "sha256").hex()

    def seal(self, data: bytes) -> bytes:
        return _encrypt(self._aead, PLAIN.seal(data), None)

    def unseal(self, stored: bytes) -> bytes:
        return PLAIN.unseal(_decrypt(self._aead, stored, None))

    def seal_inner(self, inner: bytes) -> bytes:
        return _encrypt(self._aead, inner, None)

    def unseal_inner(self, stored: bytes) -> bytes:
        return _decrypt(self._aead, stored, None)

    def seal_record(self, data: bytes) -> bytes:
        return self.seal(data)

    def unseal_record(self, stored: bytes) -> bytes:
        return self.unseal(stored)
