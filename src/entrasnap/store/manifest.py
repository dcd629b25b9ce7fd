"""Cutting a type's sorted (id, hash) entries into manifest chunks at content-defined boundaries."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

BOUNDARY_MODULUS = 64
MAX_CHUNK_ENTRIES = 4096


def ends_chunk(object_id: str) -> bool:
    """An entry ends a chunk when int(sha256(id)[:8], 16) % 64 == 0 (about one in 64 entries)."""
    head = hashlib.sha256(object_id.encode("utf-8")).hexdigest()[:8]
    return int(head, 16) % BOUNDARY_MODULUS == 0


def cut(entries: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of entries (already sorted by id): cut after each boundary id or at 4096 entries."""
    chunk: list[tuple[Any, ...]] = []
    for entry in entries:
        chunk.append(entry)
        if ends_chunk(entry[0]) or len(chunk) == MAX_CHUNK_ENTRIES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
