"""The previous version of what a snapshot stores, to store a new version as a delta against it.

The previous version of an object record is the parent snapshot's record of the same id in the same
type; of a manifest chunk, the parent's chunk of that type that covers the chunk's first id; of a
type's manifest, the parent's manifest of that type. A type's parent chunks are read on first need
(only their first ids are kept, plus a few decoded chunks) and dropped when the type is finished.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from entrasnap.store.record import SnapshotRecord
    from entrasnap.store.repository import Repository

RECORD_SHARE = 0.5
CHUNK_SHARE = 0.2
MANIFEST_SHARE = 0.5
"""A new version is stored as a delta when that takes at most this share of its full stored size
(chunks and manifests: in a version-3 repository; lines use repository.LINE_SHARE).
Every version of a delta is against the same full base (a star), so deltas grow with the changes
since that base; a lower share stores a new full object sooner. Chunks change most often (one entry
per changed object, in ~64-entry chunks), so they rebase soonest: measured on a year of daily
snapshots of fakegraph M (docs/FORMAT.md, "Delta objects")."""
LINE = 64
"""In a version-4 repository, manifest chunks and manifests are stored in lines of at most this many
versions, version v a delta against version v & (v - 1) (skip-deltas: at most 6 deltas to read through,
each holding the changes of a few versions; stars of deltas grew with every change since their full
object). Object records stay stars: most change seldom, and show/history read them one by one."""
CHUNKS_KEPT = 8
"""Decoded parent chunks kept per type (objects of a type mostly arrive in Graph's order, not by id)."""


@dataclass
class _ParentType:
    first_ids: list[str]
    chunks: tuple[str, ...]
    decoded: OrderedDict[str, dict[str, str]] = field(default_factory=OrderedDict)


class ParentVersions:
    """Previous versions in the parent snapshot (``parent``: its record or id; None for no parent)."""

    def __init__(self, repo: Repository, parent: str | SnapshotRecord | None) -> None:
        self.repo = repo
        self.parent_id = parent if isinstance(parent, str) else None
        self._parent: SnapshotRecord | None = None if isinstance(parent, str) else parent
        self._types: dict[str, _ParentType] = {}

    def _record(self) -> SnapshotRecord | None:
        if self._parent is None and self.parent_id is not None:
            found = [r for r in self.repo.snapshots() if r.id == self.parent_id]
            if not found:
                self.parent_id = None  # not in this repository (e.g. forgotten): no bases
                return None
            self._parent = found[0]
        return self._parent

    def manifest(self, type_key: str) -> str | None:
        """The parent's manifest of the type."""
        parent = self._record()
        return parent.manifest(type_key) if parent is not None else None

    def _type(self, type_key: str) -> _ParentType | None:
        known = self._types.get(type_key)
        if known is None:
            parent = self._record()
            if parent is None or parent.manifest(type_key) is None:
                return None
            chunks = self.repo.chunks(parent, type_key)
            first_ids = [str(self.repo.get(c)["entries"][0][0]) for c in chunks]
            known = self._types[type_key] = _ParentType(first_ids, chunks)
        return known

    def _covering(self, type_key: str, object_id: str) -> tuple[_ParentType, int] | None:
        known = self._type(type_key)
        if known is None:
            return None
        at = bisect.bisect_right(known.first_ids, object_id) - 1
        return (known, at) if at >= 0 else None

    def chunk(self, type_key: str, first_id: str) -> str | None:
        """The parent's chunk of the type that covers ``first_id``."""
        found = self._covering(type_key, first_id)
        return found[0].chunks[found[1]] if found else None

    def record(self, type_key: str, object_id: str) -> str | None:
        """The parent's object record of ``object_id`` in the type."""
        found = self._covering(type_key, object_id)
        if found is None:
            return None
        known, at = found
        chunk = known.chunks[at]
        entries = known.decoded.get(chunk)
        if entries is None:
            entries = {str(e[0]): str(e[1]) for e in self.repo.get(chunk)["entries"]}
            known.decoded[chunk] = entries
            if len(known.decoded) > CHUNKS_KEPT:
                known.decoded.popitem(last=False)
        else:
            known.decoded.move_to_end(chunk)
        return entries.get(object_id)

    def drop(self, type_key: str) -> None:
        """Forget what was read of a finished type."""
        self._types.pop(type_key, None)
