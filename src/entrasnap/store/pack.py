"""Pack files: many stored objects in one file, with a trailer that lists them (docs/FORMAT.md).

A pack is ``blob_1 ‖ … ‖ blob_n ‖ header ‖ len(header) as 4 bytes big-endian`` where each blob is
``zlib(canonical JSON)`` and the header is ``zlib(canonical {"blobs": [[hash, offset, length], …]})``
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
    blobs: list[tuple[str, int, int]] = field(default_factory=list)
    size: int = 0
    started: float = field(default_factory=time.monotonic)
    _stored: dict[str, bytes] = field(default_factory=dict)

    def add(self, hash_hex: str, stored: bytes) -> Location:
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
        header = codec.seal(canonical_bytes({"blobs": [list(b) for b in self.blobs]}))
        return b"".join([*self.parts, header, len(header).to_bytes(TRAILER_LENGTH_BYTES, "big")])


def read_trailer(data: bytes, codec: Codec) -> list[tuple[str, int, int]]:
    """The (hash, offset, length) list a pack's trailer declares; ValueError when it is damaged."""
    if len(data) < TRAILER_LENGTH_BYTES:
        raise ValueError("too short to hold a trailer")
    length = int.from_bytes(data[-TRAILER_LENGTH_BYTES:], "big")
    start = len(data) - TRAILER_LENGTH_BYTES - length
    if length == 0 or start < 0:
        raise ValueError("trailer length out of range")
    try:
        header = orjson.loads(codec.unseal(data[start:-TRAILER_LENGTH_BYTES]))
        blobs = [(str(h), int(o), int(n)) for h, o, n in header["blobs"]]
    except Exception as exc:  # any decoding failure means the same thing: a damaged trailer
        raise ValueError(f"trailer unreadable ({exc})") from exc
    if any(o < 0 or n <= 0 or o + n > start for _, o, n in blobs):
        raise ValueError("trailer names bytes outside the pack")
    return blobs
