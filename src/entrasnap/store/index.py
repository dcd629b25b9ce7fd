"""Index files: which pack holds each stored object, loaded only when a location is not already known.

An index file is ``zlib(canonical {"packs": [{"id": pack id, "blobs": [[hash, offset, length], …]}]})``
(a delta object's entry has its base hash as a fourth element)
stored under ``index/<sha256 of those bytes>``. Readers normally find objects through the locations
that manifests carry; the index answers for everything else (a writer checking what exists, a
location made stale by ``prune``).
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from entrasnap.store.backend import Backend
from entrasnap.store.canonical import canonical_bytes, digest
from entrasnap.store.codec import Codec, DamagedError
from entrasnap.store.errors import StoreError
from entrasnap.store.pack import Blob, Location, blob_list, parse_blobs

INDEX_PREFIX = "index/"


def index_bytes(
    packs: Iterable[tuple[str, list[Blob]]], codec: Codec, bases: dict[str, str] | None = None
) -> bytes:
    """The stored form of an index file listing ``(pack id, [(hash, offset, length), …])``; ``bases``
    gives the base of each delta object."""
    body = {"packs": [{"id": p, "blobs": blob_list(blobs, bases or {})} for p, blobs in packs]}
    return codec.seal(canonical_bytes(body))


def write_index(
    backend: Backend, packs: list[tuple[str, list[Blob]]], codec: Codec, bases: dict[str, str] | None = None
) -> str:
    """Write one index file (write-once, named by the sha256 of its stored bytes); returns its key."""
    stored = index_bytes(packs, codec, bases)
    key = INDEX_PREFIX + digest(stored)
    backend.create(key, stored)
    return key


def parse_index(stored: bytes, key: str, codec: Codec) -> list[tuple[str, list[Blob]]]:
    """The packs an index file lists; StoreError when it is damaged."""
    return parse_index_bases(stored, key, codec)[0]


def parse_index_bases(
    stored: bytes, key: str, codec: Codec
) -> tuple[list[tuple[str, list[Blob]]], dict[str, str]]:
    """The packs an index file lists and the base of each delta object in them; StoreError when damaged."""
    if digest(stored) != key.removeprefix(INDEX_PREFIX):
        raise StoreError(f"index file {key} is damaged (content does not match its name)")
    try:
        body = orjson.loads(codec.unseal(stored))
        bases: dict[str, str] = {}
        return [(str(p["id"]), parse_blobs(p["blobs"], bases)) for p in body["packs"]], bases
    except (DamagedError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"index file {key} is damaged ({exc})") from exc


class Index:
    """Every (hash -> location) the repository's index files declare, read on first use."""

    def __init__(self, backend: Backend, codec: Codec) -> None:
        self.backend = backend
        self.codec = codec
        self._locations: dict[str, Location] | None = None

    def _load(self) -> dict[str, Location]:
        if self._locations is None:
            locations: dict[str, Location] = {}
            for key in self.backend.list(INDEX_PREFIX):
                for pack_id, blobs in parse_index(self.backend.read(key), key, self.codec):
                    for hash_hex, offset, length in blobs:
                        locations[hash_hex] = (pack_id, offset, length)
            self._locations = locations
        return self._locations

    def lookup(self, hash_hex: str) -> Location | None:
        return self._load().get(hash_hex)

    def __contains__(self, hash_hex: str) -> bool:
        return hash_hex in self._load()

    def record(self, pack_id: str, blobs: list[Blob]) -> None:
        """Note a pack this process wrote (only if the index is loaded; otherwise it is read later)."""
        if self._locations is not None:
            for hash_hex, offset, length in blobs:
                self._locations[hash_hex] = (pack_id, offset, length)

    def forget(self) -> None:
        """Drop what was loaded (after prune rewrote the index)."""
        self._locations = None
