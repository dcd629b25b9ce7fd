"""Pack files: many stored objects in one file, with a trailer that lists them (docs/FORMAT.md).

A pack is ``blob_1 ‖ … ‖ blob_n ‖ header ‖ len(header) as 4 bytes big-endian`` where each blob is
``zlib(canonical JSON)`` or a delta (delta.py) and the header is
``zlib(canonical {"blobs": [[hash, offset, length(, base hash of a delta)], …]})``
(zlib and sha256 are the plain codec's; see codec.py).
The trailer makes a pack self-describing, so ``check`` can compare it with the index and an index can
be rebuilt from the packs alone.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from entrasnap.store.canonical import canonical_bytes
from entrasnap.store.codec import Codec

PACK_TARGET_BYTES = 8 * 1024 * 1024
PACK_MAX_AGE_SECONDS = 60.0
"""A pack open this long is written at the next object, so a slow run that crashes loses little."""
TRAILER_LENGTH_BYTES = 4

Location = tuple[str, int, int]
"""Where a stored object is: (pack id, offset, length) of its stored bytes in that pack."""
Blob = tuple[str, int, int]
"""An object in a pack: (hash, offset, length)."""


def pack_key(pack_id: str) -> str:
    """The backend key of a pack: data/<first two hex digits>/<pack id>."""
    return f"data/{pack_id[:2]}/{pack_id}"


def location_json(location: Location) -> list[Any]:
    return [location[0], location[1], location[2]]


def parse_location(value: Any) -> Location | None:
    """A location from its JSON form [pack, offset, length]; None when absent or malformed."""
    if (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and isinstance(value[2], int)
    ):
        return (value[0], value[1], value[2])
    return None


@dataclass
class PackBuilder:
    """One pack being filled in memory; its id (random) is known at once, so locations are too."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    parts: list[bytes] = field(default_factory=list)
    blobs: list[Blob] = field(default_factory=list)
    bases: dict[str, str] = field(default_factory=dict)
    """hash -> base hash of each delta object in the pack."""
    size: int = 0
    started: float = field(default_factory=time.monotonic)
    _stored: dict[str, bytes] = field(default_factory=dict)

    def add(self, hash_hex: str, stored: bytes, base: str | None = None) -> Location:
        """Append a stored object (a delta against ``base``, when given)."""
        if base is not None:
            self.bases[hash_hex] = base
        offset = self.size
        self.parts.append(stored)
        self.blobs.append((hash_hex, offset, len(stored)))
        self._stored[hash_hex] = stored
        self.size += len(stored)
        return (self.id, offset, len(stored))

    def stored(self, hash_hex: str) -> bytes | None:
        """The stored bytes of a blob still in this unwritten pack."""
        return self._stored.get(hash_hex)

    @property
    def age(self) -> float:
        """Seconds since the pack was started."""
        return time.monotonic() - self.started

    def finish(self, codec: Codec) -> bytes:
        """The pack file's bytes, trailer included."""
        header = codec.seal(canonical_bytes({"blobs": blob_list(self.blobs, self.bases)}))
        return b"".join([*self.parts, header, len(header).to_bytes(TRAILER_LENGTH_BYTES, "big")])


def blob_list(blobs: list[Blob], bases: dict[str, str]) -> list[list[Any]]:
    """The JSON form of blobs: [hash, offset, length], with a delta's base hash as a fourth element."""
    return [[h, o, n, bases[h]] if h in bases else [h, o, n] for h, o, n in blobs]


def parse_blobs(values: Any, bases: dict[str, str]) -> list[Blob]:
    """Blobs from their JSON form, adding each delta's base to ``bases``; ValueError when malformed."""
    blobs = []
    for value in values:
        if len(value) == 4:
            bases[str(value[0])] = str(value[3])
        elif len(value) != 3:
            raise ValueError(f"a blob entry has {len(value)} elements")
        blobs.append((str(value[0]), int(value[1]), int(value[2])))
    return blobs


def read_trailer(data: bytes, codec: Codec) -> list[Blob]:
    """The (hash, offset, length) list a pack's trailer declares; ValueError when it is damaged."""
    return read_trailer_bases(data, codec)[0]


def read_trailer_bases(data: bytes, codec: Codec) -> tuple[list[Blob], dict[str, str]]:
    """The trailer's blobs and the base of each delta among them; ValueError when it is damaged."""
    if len(data) < TRAILER_LENGTH_BYTES:
        raise ValueError("too short to hold a trailer")
    length = int.from_bytes(data[-TRAILER_LENGTH_BYTES:], "big")
    start = len(data) - TRAILER_LENGTH_BYTES - length
    if length == 0 or start < 0:
        raise ValueError("trailer length out of range")
    try:
        header = orjson.loads(codec.unseal(data[start:-TRAILER_LENGTH_BYTES]))
        bases: dict[str, str] = {}
        blobs = parse_blobs(header["blobs"], bases)
    except Exception as exc:  # any decoding failure means the same thing: a damaged trailer
        raise ValueError(f"trailer unreadable ({exc})") from exc
    if any(o < 0 or n <= 0 or o + n > start for _, o, n in blobs):
        raise ValueError("trailer names bytes outside the pack")
    return blobs, bases
