"""Delta objects: an object's canonical bytes zlib-compressed against a similar object, its *base*.

Inner form (what a codec wraps: plain as is, encrypted under AES-GCM; docs/FORMAT.md, "Delta objects"):
``0x00 ‖ base hash (32 bytes) ‖ segment_1 ‖ … ‖ segment_n``. The data is cut into SEGMENT-byte
segments; segment k (starting at data offset ``s``) is one zlib stream compressed with the preset
dictionary ``window(base, s) = base[max(0, s - BEFORE) : s + AFTER]``, the part of the base around the
same offset. zlib looks back at most 32 KiB, so one dictionary for a whole large object would match
nothing; windows that follow the offset keep any base size useful. A full object's inner form is a
zlib stream, whose first byte is never 0x00. Only the standard library is needed to read either.
"""

from __future__ import annotations

import zlib

from entrasnap.store.codec import Codec, DamagedError

MARK = b"\x00"
HASH_BYTES = 32
SEGMENT = 8192
BEFORE = 8192
AFTER = 16000
"""BEFORE + AFTER + SEGMENT stays under zlib's 32 KiB window, so every dictionary byte is reachable."""
LEVEL = 6


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


def encode(data: bytes, base_id: str, base: bytes) -> bytes:
    """The inner form of data as a delta against the object ``base_id`` whose bytes are ``base``."""
    return MARK + bytes.fromhex(base_id) + deflate(data, base)


def split(inner: bytes) -> tuple[str | None, bytes]:
    """(base id, delta body) of a delta's inner form; (None, inner) for a full object's."""
    if inner[:1] != MARK:
        return None, inner
    if len(inner) < 1 + HASH_BYTES + 1:
        raise DamagedError("delta too short")
    return inner[1 : 1 + HASH_BYTES].hex(), inner[1 + HASH_BYTES :]


def seal(codec: Codec, data: bytes, base_id: str, base: bytes) -> bytes:
    """The stored form of data as a delta (the codec encrypts it as a whole, marker and base included)."""
    return codec.seal_inner(encode(data, base_id, base))


def unseal(codec: Codec, stored: bytes) -> tuple[str | None, bytes]:
    """(None, data) of a full object; (base id, delta body) of a delta, for ``inflate`` with the base.
    DamagedError when the stored bytes are neither."""
    base_id, body = split(codec.unseal_inner(stored))
    if base_id is not None:
        return base_id, body
    try:
        return None, zlib.decompress(body)
    except zlib.error as exc:
        raise DamagedError(f"cannot decompress ({exc})") from exc
