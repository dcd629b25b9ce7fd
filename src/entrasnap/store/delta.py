"""Delta objects: an object's canonical bytes zlib-compressed against a similar object, its *base*.

Inner form (what a codec wraps: plain as is, encrypted under AES-GCM; docs/FORMAT.md, "Delta objects"):
``0x00 ‖ base hash (32 bytes) ‖ base location (pack id 16 bytes, offset 4, length 4) ‖ segment_1 ‖ … ‖
segment_n``. The base's location is a hint, as a manifest's locations are (zeros when unknown; stale
after prune moved the base): readers then ask the index. The data is cut into SEGMENT-byte
segments; segment k (starting at data offset ``s``) is one zlib stream compressed with the preset
dictionary ``window(base, s) = base[max(0, s - BEFORE) : s + AFTER]``, the part of the base around the
same offset. zlib looks back at most 32 KiB, so one dictionary for a whole large object would match
nothing; windows that follow the offset keep any base size useful. A full object's inner form is a
zlib stream, whose first byte is never 0x00. Only the standard library is needed to read either.

Format 4 adds *chained* deltas, ``0x01 ‖ version (2 bytes) ‖`` then the same fields, whose base may
itself be a delta: version v of a line of versions (a manifest chunk's, a manifest's; v = 1, 2, … since
the line's last full object, version 0) is stored against version ``v & (v - 1)`` (Subversion's
skip-deltas), so reading any version takes at most popcount(v) + 1 decompressions and each delta holds
only the changes of a few versions.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

from entrasnap.store.codec import Codec, DamagedError
from entrasnap.store.pack import Location

MARK = b"\x00"
CHAINED = b"\x01"
VERSION_BYTES = 2
HASH_BYTES = 32
PACK_ID_BYTES = 16
HINT_BYTES = PACK_ID_BYTES + 4 + 4
HEAD_BYTES = 1 + HASH_BYTES + HINT_BYTES
NO_HINT = bytes(HINT_BYTES)
SEGMENT = 8192
BEFORE = 8192
AFTER = 16000
"""BEFORE + AFTER + SEGMENT stays under zlib's 32 KiB window, so every dictionary byte is reachable."""
LEVEL = 6
MAX_CHAIN = 16
"""Readers refuse (as damage) a chain of deltas deeper than this; writers make at most
popcount(line length - 1) (bases.py)."""


def window(base: bytes, start: int) -> bytes:
    """The dictionary of the segment that starts at data offset ``start``."""
    return base[max(0, start - BEFORE) : start + AFTER] or b" "


def deflate(data: bytes, base: bytes) -> bytes:
    """data's segments, each compressed with the base's window at its offset."""
    out = []
    for start in range(0, max(len(data), 1), SEGMENT):
        compressor = zlib.compressobj(LEVEL, zdict=window(base, start))
        out.append(compressor.compress(data[start : start + SEGMENT]) + compressor.flush())
    return b"".join(out)


def inflate(body: bytes, base: bytes) -> bytes:
    """The data ``deflate`` compressed; DamagedError when the body or the base is not the right one."""
    out = bytearray()
    try:
        while True:
            decompressor = zlib.decompressobj(zdict=window(base, len(out)))
            out += decompressor.decompress(body)
            if not decompressor.eof:
                raise DamagedError("delta segment cut short")
            body = decompressor.unused_data
            if not body:
                return bytes(out)
    except zlib.error as exc:  # a wrong base fails zlib's dictionary check (its Adler-32)
        raise DamagedError(f"cannot decompress delta ({exc})") from exc


class Base(NamedTuple):
    """A delta's base: its hash, and where it was when the delta was written (None: not known); with
    the delta's own version in its line (a chained delta's; 0 for a delta of the 0x00 form)."""

    id: str
    at: Location | None
    version: int = 0


def _hint(at: Location | None) -> bytes:
    if at is None or len(at[0]) != 2 * PACK_ID_BYTES or max(at[1], at[2]) >= 1 << 32:
        return NO_HINT
    return bytes.fromhex(at[0]) + at[1].to_bytes(4, "big") + at[2].to_bytes(4, "big")


def encode(data: bytes, base: Base, base_bytes: bytes) -> bytes:
    """The inner form of data as a delta against ``base``, whose canonical bytes are ``base_bytes``:
    chained (0x01) when ``base.version`` (the new delta's version) is set, else the 0x00 form."""
    head = MARK if not base.version else CHAINED + base.version.to_bytes(VERSION_BYTES, "big")
    return head + bytes.fromhex(base.id) + _hint(base.at) + deflate(data, base_bytes)


def split(inner: bytes) -> tuple[Base | None, bytes]:
    """(base, delta body) of a delta's inner form; (None, inner) for a full object's."""
    version = 0
    if inner[:1] == CHAINED:
        version, inner = int.from_bytes(inner[1 : 1 + VERSION_BYTES], "big"), inner[VERSION_BYTES:]
        if version == 0:
            raise DamagedError("chained delta of version 0")
    elif inner[:1] != MARK:
        return None, inner
    if len(inner) <= HEAD_BYTES:
        raise DamagedError("delta too short")
    hint = inner[1 + HASH_BYTES : HEAD_BYTES]
    at = None
    if hint != NO_HINT:
        pack_id, offset, length = hint[:PACK_ID_BYTES].hex(), hint[-8:-4], hint[-4:]
        at = (pack_id, int.from_bytes(offset, "big"), int.from_bytes(length, "big"))
    return Base(inner[1 : 1 + HASH_BYTES].hex(), at, version), inner[HEAD_BYTES:]


def seal(codec: Codec, data: bytes, base: Base, base_bytes: bytes) -> bytes:
    """The stored form of data as a delta (the codec encrypts it as a whole, marker and base included)."""
    return codec.seal_inner(encode(data, base, base_bytes))


def unseal(codec: Codec, stored: bytes) -> tuple[Base | None, bytes]:
    """(None, data) of a full object; (base, delta body) of a delta, for ``inflate`` with the base's
    bytes. DamagedError when the stored bytes are neither."""
    base, body = split(codec.unseal_inner(stored))
    if base is not None:
        return base, body
    try:
        return None, zlib.decompress(body)
    except zlib.error as exc:
        raise DamagedError(f"cannot decompress ({exc})") from exc
