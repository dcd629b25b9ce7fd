"""Index files: which pack holds each stored object, loaded only when a location is not already known.

An index file is ``zlib(canonical {"packs": [{"id": pack id, "blobs": [[hash, offset, length], …]}]})``
(a delta object's entry has its base hash as a fourth element)
stored under ``index/<sha256 of those bytes>``. Readers normally find objects through the locations
that manifests carry; the index answers for everything else (a writer checking what exists, a
location made stale by ``prune``).
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Container, Iterable, Iterator

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

    Held compactly, as it grows with every object a snapshot writes: one sorted bytes value of 48-byte
    records (the 32-byte digest, then the location packed into 16 bytes: pack number, offset, length),
    searched within the few records that share the digest's leading bits. That is about 50 bytes an
    object, where a dict of digests and packed ints took about 155 (and hex strings with location
    tuples about 290). Packs this process writes go to a dict first, merged into the sorted records
    once it holds a quarter as many. A hash that is not 64 hex digits stays in the dict, as a str.
    """

    def __init__(self, backend: Backend, codec: Codec) -> None:
        self.backend = backend
        self.codec = codec
        self._sorted: _Sorted | None = None
        self._recent: dict[bytes | str, int] = {}
        """Newer than ``_sorted``: answers first."""
        self._packs: list[str] = []
        self._pack_numbers: dict[str, int] = {}

    def _load(self) -> _Sorted:
        if self._sorted is None:
            # Records are gathered by their first byte and each group sorted on its own: only one
            # group's records are ever separate objects, so loading needs little more than the result.
            groups = [bytearray() for _ in range(256)]
            for key in self.backend.list(INDEX_PREFIX):
                for pack_id, blobs in parse_index(self.backend.read(key), key, self.codec):
                    for hash_key, packed in self._packed(pack_id, blobs):
                        if isinstance(hash_key, bytes):
                            groups[hash_key[0]] += hash_key + packed.to_bytes(_LOCATION_BYTES, "big")
                        else:
                            self._recent[hash_key] = packed
            records = bytearray(sum(map(len, groups)))
            end = 0
            for first in range(256):
                group, groups[first] = groups[first], bytearray()
                # a hash listed twice (both copies exist): the later pack's location wins
                for record in _last_of_each(sorted(_split(group))):
                    records[end : end + _RECORD] = record
                    end += _RECORD
            del records[end:]
            self._sorted = _Sorted(records)
        return self._sorted

    def _packed(self, pack_id: str, blobs: list[Blob]) -> Iterator[tuple[bytes | str, int]]:
        number = self._pack_numbers.get(pack_id)
        if number is None:
            number = self._pack_numbers[pack_id] = len(self._packs)
            self._packs.append(pack_id)
        for hash_hex, offset, length in blobs:
            if not (0 <= offset < _LIMIT and 0 <= length < _LIMIT):
                raise StoreError(
                    f"pack {pack_id} lists an object at an impossible place ({offset}, {length})"
                )
            yield _key(hash_hex), number << _PACK_SHIFT | offset << _OFFSET_SHIFT | length

    def _find(self, hash_hex: str) -> int | None:
        key = _key(hash_hex)
        loaded = self._load()  # also what puts keys that are not digests into _recent
        found = loaded.get(key) if isinstance(key, bytes) else None
        return self._recent.get(key, found)

    def lookup(self, hash_hex: str) -> Location | None:
        packed = self._find(hash_hex)
        if packed is None:
            return None
        return self._packs[packed >> _PACK_SHIFT], (packed >> _OFFSET_SHIFT) & _MASK, packed & _MASK

    def __contains__(self, hash_hex: str) -> bool:
        return self._find(hash_hex) is not None

    def record(self, pack_id: str, blobs: list[Blob]) -> None:
        """Note a pack this process wrote (only if the index is loaded; otherwise it is read later)."""
        if self._sorted is None:
            return
        self._recent.update(self._packed(pack_id, blobs))
        if len(self._recent) >= max(MERGE_AT_LEAST, len(self._sorted) // 4):
            new = sorted(
                k + v.to_bytes(_LOCATION_BYTES, "big")
                for k, v in self._recent.items()
                if isinstance(k, bytes)
            )
            self._sorted = self._sorted.merged(new, self._recent)
            self._recent = {k: v for k, v in self._recent.items() if isinstance(k, str)}

    def forget(self) -> None:
        """Drop what was loaded (after prune rewrote the index)."""
        self._sorted = None
        self._recent = {}
        self._packs, self._pack_numbers = [], {}


class _Sorted:
    """Records (digest, packed location) sorted by digest, each digest once, and where the records of
    each run of leading digest bits start (about four records a run)."""

    def __init__(self, records: bytes | bytearray) -> None:
        self.records = records
        count = len(records) // _RECORD
        self.shift = 16 - min(16, max(0, count.bit_length() - 2))
        starts = array("I", bytes(4 * ((1 << (16 - self.shift)) + 1)))
        bucket = 0
        for i in range(count):
            here = (records[i * _RECORD] << 8 | records[i * _RECORD + 1]) >> self.shift
            while bucket <= here:
                starts[bucket] = i
                bucket += 1
        while bucket < len(starts):
            starts[bucket] = count
            bucket += 1
        self.starts = starts

    def __len__(self) -> int:
        return len(self.records) // _RECORD

    def get(self, key: bytes) -> int | None:
        """The packed location of a digest, or None."""
        bucket = (key[0] << 8 | key[1]) >> self.shift
        low, high = self.starts[bucket], self.starts[bucket + 1]
        records = self.records
        while low < high:
            middle = (low + high) >> 1
            at = middle * _RECORD
            digest_there = records[at : at + _DIGEST]
            if digest_there < key:
                low = middle + 1
            elif digest_there > key:
                high = middle
            else:
                return int.from_bytes(records[at + _DIGEST : at + _RECORD], "big")
        return None

    def merged(self, new: list[bytes], replaced: Container[bytes | str]) -> _Sorted:
        """These records with ``new`` (sorted records) added; digests in ``replaced`` (those of ``new``)
        keep their new location."""
        records = bytearray(len(self.records) + _RECORD * len(new))
        end = 0
        for record in heapq.merge((r for r in _split(self.records) if r[:_DIGEST] not in replaced), new):
            records[end : end + _RECORD] = record
            end += _RECORD
        del records[end:]
        return _Sorted(records)


MERGE_AT_LEAST = 4096
"""Entries recorded before they are merged into the sorted records (and at least a quarter as many)."""
_DIGEST = 32
_LOCATION_BYTES = 16
_RECORD = _DIGEST + _LOCATION_BYTES
_OFFSET_SHIFT = 40
_PACK_SHIFT = 80
_LIMIT = 1 << _OFFSET_SHIFT
_MASK = _LIMIT - 1


def _split(records: bytes | bytearray) -> Iterator[bytes]:
    """Fixed-size records, one by one."""
    return (bytes(records[i : i + _RECORD]) for i in range(0, len(records), _RECORD))


def _last_of_each(records: list[bytes]) -> Iterator[bytes]:
    """Sorted records, one per digest: the last, whose location is the highest (the later pack)."""
    for i, record in enumerate(records):
        if i + 1 == len(records) or records[i + 1][:_DIGEST] != record[:_DIGEST]:
            yield record


def _key(hash_hex: str) -> bytes | str:
    """The index's key for a hash: its 32 bytes (the str itself when it is not a hash)."""
    return bytes.fromhex(hash_hex) if HASH_RE.match(hash_hex) else hash_hex
