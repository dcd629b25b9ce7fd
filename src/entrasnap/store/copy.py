"""``copy``: replicate snapshots from one repository into another, incrementally.

A snapshot whose id the target already holds is skipped; an object the target's index already holds
is not copied again. Object records keep their canonical JSON (so their hash, where both repositories
name objects alike); manifest chunks and manifests are rebuilt with the target's locations; the record
keeps every field but ``types[*].manifest`` (target hashes and locations), ``sequence`` and
``previous`` (the target's own chain) and ``signature`` (dropped, or the target's signer's), and
gains ``copiedFrom`` (docs/FORMAT.md, "Copies"). New objects get the bases a snapshot written directly
would have: the previous versions in the copy of the record's parent (bases.py), so a copy stores the
same full and delta objects as daily snapshots would have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from entrasnap.store.bases import CHUNK_SHARE, LINE, MANIFEST_SHARE, RECORD_SHARE, ParentVersions
from entrasnap.store.canonical import canonical_bytes, digest
from entrasnap.store.errors import StoreError
from entrasnap.store.lock import NamedLock
from entrasnap.store.pack import Location, location_json
from entrasnap.store.record import SnapshotRecord
from entrasnap.store.repository import Repository, WriteStats
from entrasnap.store.retention import matches_tenant

Progress = Callable[[SnapshotRecord, bool], None]
"""Called once per snapshot considered: (record, copied)."""


@dataclass
class CopyResult:
    copied: list[SnapshotRecord] = field(default_factory=list)
    skipped: list[SnapshotRecord] = field(default_factory=list)
    stats: WriteStats = field(default_factory=WriteStats)
    """Objects written to the target, objects it already had, bytes written."""


class Copier:
    """Copies snapshots of ``source`` into ``target``, remembering what it mapped across snapshots."""

    def __init__(self, source: Repository, target: Repository) -> None:
        if source.id == target.id:
            raise StoreError(f"{source.backend} and {target.backend} are the same repository")
        self.source = source
        self.target = target
        self.same_names = source.codec.object_id(b"") == target.codec.object_id(b"")
        self.stats = WriteStats()
        self._objects: dict[str, str] = {}
        self._parts: dict[str, tuple[str, Location]] = {}
        self._copies: dict[str, SnapshotRecord] = {}
        """Target records by id: those present before the copy and those copied."""

    def copy(self, tenant: str | None = None, progress: Progress | None = None) -> CopyResult:
        result = CopyResult(stats=self.stats)
        self._copies = {r.id: r for r in self.target.snapshots()}
        present = set(self._copies)
        for record in self.source.snapshots():
            if not matches_tenant(record, tenant):
                continue
            if record.id in present:
                result.skipped.append(record)
            else:
                result.copied.append(self.copy_one(record))
            if progress is not None:
                progress(record, record.id not in present)
        return result

    def copy_one(self, record: SnapshotRecord) -> SnapshotRecord:
        """Copy one snapshot's objects, then commit its record in the target's chain."""
        types: dict[str, Any] = {}
        parent = record.data.get("parent")
        versions = ParentVersions(self.target, self._copies.get(parent) if isinstance(parent, str) else None)
        for type_key, original in record.types.items():
            info = dict(original)
            manifest = record.manifest(type_key)
            if manifest is not None:
                hash_hex, at = self._manifest(manifest, type_key, versions)
                info["manifest"] = [hash_hex, location_json(at)]
            versions.drop(type_key)
            types[type_key] = info
        self.target.flush()
        data = {k: v for k, v in record.data.items() if k != "signature"}
        data["types"] = types
        data["copiedFrom"] = {"repository": self.source.id, "sequence": record.sequence, "hash": record.hash}
        with NamedLock(self.target.backend, "commit"):
            sequence, previous = self.target.chain_head()
            data["sequence"], data["previous"] = sequence + 1, previous
            signer = self.target.signer
            if signer is not None:
                data["signature"] = signer(canonical_bytes(data))
            body = self.target.codec.seal_record(canonical_bytes(data))
            if not self.target.backend.create(record.key, body):
                raise StoreError(f"snapshot record {record.key} already exists in {self.target.backend}")
        self.stats.bytes_written += len(body)
        copied = self._copies[record.id] = SnapshotRecord(key=record.key, data=data, hash=digest(body))
        return copied

    def _manifest(self, hash_hex: str, type_key: str, versions: ParentVersions) -> tuple[str, Location]:
        if hash_hex not in self._parts:
            chunks = [self._chunk(str(c[0]), type_key, versions) for c in self.source.get(hash_hex)["chunks"]]
            value = {"chunks": [[h, location_json(at)] for h, at in chunks]}
            base = partial(versions.manifest, type_key)
            self._parts[hash_hex] = self.target.put_located(
                value, self.stats, base=base, share=MANIFEST_SHARE, line=LINE
            )
        return self._parts[hash_hex]

    def _chunk(self, hash_hex: str, type_key: str, versions: ParentVersions) -> tuple[str, Location]:
        if hash_hex not in self._parts:
            entries = []
            for entry in self.source.get(hash_hex)["entries"]:
                previous = partial(versions.record, type_key, str(entry[0]))
                target_hash = self._object(str(entry[1]), previous)
                at = self.target.locate(target_hash)
                name = entry[2] if len(entry) > 2 else None
                entries.append([entry[0], target_hash, name, *([location_json(at)] if at else [])])
            base = partial(versions.chunk, type_key, str(entries[0][0])) if entries else None
            self._parts[hash_hex] = self.target.put_located(
                {"entries": entries}, self.stats, base=base, share=CHUNK_SHARE, line=LINE
            )
        return self._parts[hash_hex]

    def _object(self, hash_hex: str, previous: Callable[[], str | None]) -> str:
        """The target's hash of an object record, copying it unless the target has it."""
        known = self._objects.get(hash_hex)
        if known is not None:
            return known
        if self.same_names and self.target.locate(hash_hex) is not None:
            self.stats.objects_reused += 1
            self._objects[hash_hex] = hash_hex
            return hash_hex
        copied = self.target.put_counted(
            self.source.get(hash_hex), self.stats, base=previous, share=RECORD_SHARE
        )
        if self.same_names and copied != hash_hex:
            raise StoreError(f"object {hash_hex} would change when copied (its JSON does not round-trip)")
        self._objects[hash_hex] = copied
        return copied
