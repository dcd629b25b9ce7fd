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
from entrasnap.store.canonical import HASH_RE, canonical_bytes, digest
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
    """Every (hash -> location) the repository's index files declare, read on first use.

    Held compactly, as it grows with every object a snapshot writes: the 32-byte digest as key and the
    location packed into one int (pack number, offset, length), about 155 bytes an object where hex
    strings and location tuples took about 290. A hash that is not 64 hex digits keeps its str key.
    """

    def __init__(self, backend: Backend, codec: Codec) -> None:
        self.backend = backend
        self.codec = codec
        self._locations: dict[bytes | str, int] | None = None
        self._packs: list[str] = []
        self._pack_numbers: dict[str, int] = {}

    def _load(self) -> dict[bytes | str, int]:
        if self._locations is None:
            locations: dict[bytes | str, int] = {}
            for key in self.backend.list(INDEX_PREFIX):
                for pack_id, blobs in parse_index(self.backend.read(key), key, self.codec):
                    self._add(locations, pack_id, blobs)
            self._locations = locations
        return self._locations

    def _add(self, locations: dict[bytes | str, int], pack_id: str, blobs: list[Blob]) -> None:
        number = self._pack_numbers.get(pack_id)
        if number is None:
            number = self._pack_numbers[pack_id] = len(self._packs)
            self._packs.append(pack_id)
        for hash_hex, offset, length in blobs:
            if not (0 <= offset < _LIMIT and 0 <= length < _LIMIT):
                raise StoreError(
                    f"pack {pack_id} lists an object at an impossible place ({offset}, {length})"
                )
            locations[_key(hash_hex)] = number << _PACK_SHIFT | offset << _OFFSET_SHIFT | length

    def lookup(self, hash_hex: str) -> Location | None:
        packed = self._load().get(_key(hash_hex))
        if packed is None:
            return None
        return self._packs[packed >> _PACK_SHIFT], (packed >> _OFFSET_SHIFT) & _MASK, packed & _MASK

    def __contains__(self, hash_hex: str) -> bool:
        return _key(hash_hex) in self._load()

    def record(self, pack_id: str, blobs: list[Blob]) -> None:
        """Note a pack this process wrote (only if the index is loaded; otherwise it is read later)."""
        if self._locations is not None:
            self._add(self._locations, pack_id, blobs)

    def forget(self) -> None:
        """Drop what was loaded (after prune rewrote the index)."""
        self._locations = None
        self._packs, self._pack_numbers = [], {}


_OFFSET_SHIFT = 40
_PACK_SHIFT = 80
_LIMIT = 1 << _OFFSET_SHIFT
_MASK = _LIMIT - 1


def _key(hash_hex: str) -> bytes | str:
    """The index's key for a hash: its 32 bytes (the str itself when it is not a hash)."""
    return bytes.fromhex(hash_hex) if HASH_RE.match(hash_hex) else hash_hex
