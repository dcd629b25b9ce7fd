"""``prune``: mark every object the remaining snapshot records reach, then sweep what nothing uses.

Run under the exclusive repository lock. Steps, in the order that keeps the repository valid if the
process is killed at any moment (docs/FORMAT.md, "Retention and prune"):

1. delete ``.tmp-`` leftovers older than the grace period;
2. repack: copy the live objects of mostly-unused packs, stored bytes unchanged, into new packs;
3. write the new index (every kept pack and the new packs), in as few files as fit;
4. delete the old index files;
5. delete the packs nothing uses any more, the repacked packs and unindexed packs from interrupted runs.

A kill before 3 leaves new packs nothing indexes; between 3 and 4, objects listed twice (both copies
exist); after 4, old packs nothing indexes: the next prune deletes all of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from entrasnap.store.backend import TEMP_PREFIX, Backend, LocalBackend
from entrasnap.store.errors import StoreError
from entrasnap.store.index import INDEX_PREFIX, parse_index_bases, write_index
from entrasnap.store.pack import PackBuilder, pack_key
from entrasnap.store.repository import Repository

DATA_PREFIX = "data/"
GRACE = timedelta(hours=1)
"""Unindexed packs and temporary files younger than this are left alone (a writer may still be busy)."""
MAX_UNUSED = 0.5
"""A pack with more than this share of unused bytes is repacked."""
INDEX_FILE_BLOBS = 50_000
"""Most objects listed in one index file written by prune."""

Blobs = list[tuple[str, int, int]]


@dataclass
class Usage:
    """Files and bytes in a repository, by top-level area (data, index, snapshots, ...)."""

    areas: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def files(self) -> int:
        return sum(n for n, _ in self.areas.values())

    @property
    def bytes(self) -> int:
        return sum(b for _, b in self.areas.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "areas": {k: {"files": n, "bytes": b} for k, (n, b) in sorted(self.areas.items())},
        }


def usage(backend: Backend) -> Usage:
    """What the repository stores (``locks/``, transient, left out)."""
    result = Usage()
    for key, size in backend.list_sizes(""):
        area = key.split("/", 1)[0] if "/" in key else key
        if area == "locks":
            continue
        files, total = result.areas.get(area, (0, 0))
        result.areas[area] = (files + 1, total + size)
    return result


@dataclass
class Plan:
    """What prune will do; nothing is changed until ``execute``."""

    live: set[str]
    packs: dict[str, Blobs]
    """Every pack the index lists (that exists), with its blobs."""
    index_keys: list[str]
    bases: dict[str, str] = field(default_factory=dict)
    """Delta object -> its base, for every delta the index lists (bases of live deltas are live)."""
    delete: list[str] = field(default_factory=list)
    repack: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Packs the index lists that do not exist (holding nothing in use)."""
    orphans: list[str] = field(default_factory=list)
    """Pack keys no index lists, older than the grace period."""
    young_orphans: list[str] = field(default_factory=list)
    temps: list[Path] = field(default_factory=list)
    copy: dict[str, list[str]] = field(default_factory=dict)
    """Repacked pack -> hashes of the live objects to copy out of it."""
    unused_bytes: int = 0
    copy_bytes: int = 0

    @property
    def rewrite_index(self) -> bool:
        return bool(self.delete or self.repack or self.missing) or len(self.index_keys) > 1

    def to_json(self) -> dict[str, Any]:
        return {
            "liveObjects": len(self.live),
            "packs": len(self.packs),
            "packsDeleted": len(self.delete),
            "packsRepacked": len(self.repack),
            "packsKept": len(self.keep),
            "packsMissing": len(self.missing),
            "unindexedPacksDeleted": len(self.orphans),
            "unindexedPacksKeptYoung": len(self.young_orphans),
            "tempFilesDeleted": len(self.temps),
            "unusedBytes": self.unused_bytes,
            "repackBytes": self.copy_bytes,
            "indexFilesBefore": len(self.index_keys),
            "rewriteIndex": self.rewrite_index,
        }


def reachable(repository: Repository, bases: dict[str, str] | None = None) -> set[str]:
    """Hashes of every manifest, manifest chunk and object record a snapshot record reaches, and the
    base of each delta among them (``bases``: delta -> base; read from the index when not given)."""
    live: set[str] = set()
    for record in repository.snapshots():
        for type_key in record.types:
            manifest = record.manifest(type_key)
            if manifest is None or manifest in live:
                continue
            live.add(manifest)
            for chunk in repository.chunks(record, type_key):
                if chunk in live:
                    continue
                live.add(chunk)
                live.update(str(entry[1]) for entry in repository.get(chunk)["entries"])
    if bases is None:
        bases = {}
        for key in repository.backend.list(INDEX_PREFIX):
            bases.update(parse_index_bases(repository.backend.read(key), key, repository.codec)[1])
    todo = [bases[h] for h in live if h in bases]
    while todo:  # a base may be a delta too (chains, format 4): its base is live as well
        fresh = [b for b in todo if b not in live]
        live.update(fresh)
        todo = [bases[b] for b in fresh if b in bases]
    return live


def plan(
    repository: Repository,
    *,
    max_unused: float = MAX_UNUSED,
    grace: timedelta = GRACE,
    now: datetime | None = None,
) -> Plan:
    """Mark, then sort every pack into delete / repack / keep. Refuses (StoreError) when an object a
    snapshot uses is not in the index or only in a missing pack: that is damage for ``check``."""
    backend, codec = repository.backend, repository.codec
    now = now or datetime.now(UTC)
    stored = {key.rsplit("/", 1)[-1]: key for key in backend.list(DATA_PREFIX)}
    index_keys = list(backend.list(INDEX_PREFIX))
    listed: dict[str, dict[str, tuple[int, int]]] = {}
    bases: dict[str, str] = {}
    for key in index_keys:
        in_file, found = parse_index_bases(backend.read(key), key, codec)
        bases.update(found)
        for pack_id, blobs in in_file:
            listed.setdefault(pack_id, {}).update((h, (o, n)) for h, o, n in blobs)
    live = reachable(repository, bases)
    packs = {p: [(h, o, n) for h, (o, n) in sorted(b.items(), key=lambda i: i[1])] for p, b in listed.items()}
    result = Plan(live=live, packs={}, index_keys=index_keys, bases=bases)
    present = {h for p, blobs in packs.items() if p in stored for h, _, _ in blobs}
    lost = sorted(live - present)
    if lost:
        raise StoreError(
            f"{len(lost)} object(s) the snapshots use are not in any existing pack (e.g. {lost[0]}); "
            f"run `entrasnap check`: prune removed nothing"
        )
    for pack_id, blobs in packs.items():
        if pack_id not in stored:
            result.missing.append(pack_id)
            continue
        result.packs[pack_id] = blobs
        total = sum(n for _, _, n in blobs)
        used = sum(n for h, _, n in blobs if h in live)
        if used == 0:
            result.delete.append(pack_id)
        elif total - used > max_unused * total:
            result.repack.append(pack_id)
        else:
            result.keep.append(pack_id)
        if used < total and pack_id not in result.keep:
            result.unused_bytes += total - used
    kept = {h for p in result.keep for h, _, _ in result.packs[p]}
    for pack_id in result.repack:
        wanted = [h for h, _, _ in result.packs[pack_id] if h in live and h not in kept]
        kept.update(wanted)
        result.copy[pack_id] = wanted
        result.copy_bytes += sum(n for h, _, n in result.packs[pack_id] if h in wanted)
    for pack_id, key in sorted(stored.items()):
        if pack_id not in listed:
            old = _older_than(backend, key, now - grace)
            (result.orphans if old else result.young_orphans).append(key)
    result.temps = _temp_files(backend, now - grace)
    return result


@dataclass
class Outcome:
    before: Usage
    after: Usage
    packs_written: int = 0
    index_files_written: int = 0
    index_files_deleted: int = 0


def execute(repository: Repository, todo: Plan, *, ensure_held: Callable[[], None] = lambda: None) -> Outcome:
    """Carry out a plan in the crash-safe order; ``ensure_held`` runs before every destructive step."""
    backend, codec = repository.backend, repository.codec
    outcome = Outcome(before=usage(backend), after=Usage())
    ensure_held()
    for path in todo.temps:
        path.unlink(missing_ok=True)
    written: list[tuple[str, Blobs]] = []
    builder = PackBuilder()
    for pack_id, hashes in todo.copy.items():
        if not hashes:
            continue
        data = backend.read(pack_key(pack_id))
        where = {h: (o, n) for h, o, n in todo.packs[pack_id]}
        for hash_hex in hashes:
            offset, length = where[hash_hex]
            blob = data[offset : offset + length]
            try:
                intact = repository.unseal_object(hash_hex, blob) is not None
            except StoreError:  # a delta whose base is missing or damaged
                intact = False
            if not intact:
                raise StoreError(
                    f"object {hash_hex} in {pack_key(pack_id)} is damaged; run `entrasnap check` "
                    f"(prune stopped before removing anything)"
                )
            builder.add(hash_hex, blob, todo.bases.get(hash_hex))
            if builder.size >= repository.pack_size:
                written.append(_write_pack(backend, builder, repository))
                builder = PackBuilder()
    if builder.blobs:
        written.append(_write_pack(backend, builder, repository))
    outcome.packs_written = len(written)
    if todo.rewrite_index:
        ensure_held()
        dropped = set(todo.delete) | set(todo.repack)
        entries = [(p, b) for p, b in todo.packs.items() if p not in dropped] + written
        new_keys = set()
        for group in _groups(entries):
            new_keys.add(write_index(backend, group, codec, todo.bases))
        outcome.index_files_written = len(new_keys)
        old = [key for key in todo.index_keys if key not in new_keys]
        ensure_held()
        for key in old:
            backend.delete(key)
        outcome.index_files_deleted = len(old)
    ensure_held()
    for pack_id in [*todo.delete, *todo.repack]:
        backend.delete(pack_key(pack_id))
    for key in todo.orphans:
        backend.delete(key)
    repository.index.forget()
    outcome.after = usage(backend)
    return outcome


def _write_pack(backend: Backend, builder: PackBuilder, repository: Repository) -> tuple[str, Blobs]:
    backend.create(pack_key(builder.id), builder.finish(repository.codec))
    return builder.id, list(builder.blobs)


def _groups(entries: list[tuple[str, Blobs]]) -> list[list[tuple[str, Blobs]]]:
    """Packs in groups of at most INDEX_FILE_BLOBS objects (a pack is never split)."""
    groups: list[list[tuple[str, Blobs]]] = []
    count = INDEX_FILE_BLOBS
    for pack_id, blobs in sorted(entries):
        if count + len(blobs) > INDEX_FILE_BLOBS and (not groups or groups[-1]):
            groups.append([])
            count = 0
        groups[-1].append((pack_id, blobs))
        count += len(blobs)
    return groups


def _older_than(backend: Backend, key: str, limit: datetime) -> bool:
    """Whether a file was last changed before ``limit``. Only local files tell their age; elsewhere
    the exclusive lock alone vouches that no writer is busy, so the file counts as old."""
    if not isinstance(backend, LocalBackend):
        return True
    try:
        changed = os.stat(backend.root / key).st_mtime
    except FileNotFoundError:
        return False
    return datetime.fromtimestamp(changed, UTC) < limit


def _temp_files(backend: Backend, limit: datetime) -> list[Path]:
    """Unfinished local writes (``.tmp-`` files) older than ``limit``; other backends have none."""
    if not isinstance(backend, LocalBackend) or not backend.root.is_dir():
        return []
    found = []
    for directory, _, names in os.walk(backend.root):
        for name in names:
            path = Path(directory) / name
            if name.startswith(TEMP_PREFIX) and _mtime(path) < limit:
                found.append(path)
    return sorted(found)


def _mtime(path: Path) -> datetime:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        return datetime.max.replace(tzinfo=UTC)
