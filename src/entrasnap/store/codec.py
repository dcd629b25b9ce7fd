"""How stored bytes are made from canonical JSON and back: the one place that compresses (and, with
a key, encrypts), and that names objects."""

from __future__ import annotations

import zlib
from typing import Protocol

from entrasnap.store.canonical import digest


class DamagedError(ValueError):
    """Stored bytes that cannot be turned back into what was stored."""


class Codec(Protocol):
    """Object ids and the stored form of objects, pack headers and index files."""

    name: str

    def object_id(self, data: bytes) -> str:
        """The 64-hex-digit name of canonical bytes (equal content, equal name)."""
        ...

    def seal(self, data: bytes) -> bytes:
        """The stored form of data."""
        ...

    def unseal(self, stored: bytes) -> bytes:
        """data from its stored form; DamagedError when that is impossible."""
        ...

    def seal_inner(self, inner: bytes) -> bytes:
        """The stored form of already compressed bytes (a delta object's; plain: the bytes themselves)."""
        ...

    def unseal_inner(self, stored: bytes) -> bytes:
        """``seal_inner``'s input back; DamagedError when that is impossible."""
        ...

    def seal_record(self, data: bytes) -> bytes:
        """The stored form of a snapshot record (plain: the canonical JSON itself)."""
        ...

    def unseal_record(self, stored: bytes) -> bytes:
        """A snapshot record's canonical JSON from its stored form; DamagedError when impossible."""
        ...


class PlainCodec:
    """zlib, and sha256 names: readable with the standard library (docs/FORMAT.md)."""

    name = "zlib"

    def object_id(self, data: bytes) -> str:
        return digest(data)

    def seal(self, data: bytes) -> bytes:
        return zlib.compress(data, 6)

    def unseal(self, stored: bytes) -> bytes:
        try:
            return zlib.decompress(stored)
        except zlib.error as exc:
            raise DamagedError(f"cannot decompress ({exc})") from exc

    def seal_inner(self, inner: bytes) -> bytes:
        return inner

    def unseal_inner(self, stored: bytes) -> bytes:
        return stored

    def seal_record(self, data: bytes) -> bytes:
        return data

    def unseal_record(self, stored: bytes) -> bytes:
        return stored


PLAIN = PlainCodec()
