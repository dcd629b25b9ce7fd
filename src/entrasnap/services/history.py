"""One object through time: where it is in each snapshot, and its versions across a tenant's snapshots.

Lookups by id never read a whole type: manifest chunks are sorted by id, so an id is found by a bisect
over the chunks' first ids and then over the chunk's entries. Chunks are cached by hash and most are
shared between snapshots, and a record whose hash equals the previous snapshot's is never reopened.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from entrasnap.catalog.model import ResourceType
from entrasnap.services.changes import Change, diff_records
from entrasnap.services.timeline import (
    NAME_TYPES,
    CachedRepository,
    Found,
    SnapshotView,
    TimelineError,
    locate,
)
from entrasnap.store import SnapshotRecord

Event = Literal["appeared", "changed", "disappeared", "reappeared", "notCaptured"]
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
BULK_NAMES = 200  # beyond this many ids, build the snapshot's whole name index instead of bisecting


class EntryFinder:
    """Finds (record hash, name) of an id in a snapshot's type by bisecting its sorted manifest chunks."""

    def __init__(self, cache: CachedRepository) -> None:
        self.cache = cache
        self._ids: dict[str, list[str]] = {}  # chunk hash -> its entry ids, in order

    def _chunk_ids(self, chunk_hash: str) -> list[str]:
        ids = self._ids.get(chunk_hash)
        if ids is None:
            ids = [str(entry[0]) for entry in self.cache.get(chunk_hash)["entries"]]
            self._ids[chunk_hash] = ids
        return ids

    def find(self, record: SnapshotRecord, key: str, object_id: str) -> tuple[str, str | None] | None:
        chunks: list[str] = record.types.get(key, {}).get("chunks", [])
        if not chunks:
            return None
        # The last chunk whose first id is <= object_id holds it, if any does.
        lo, hi = 0, len(chunks)
        while lo < hi:
            mid = (lo + hi) // 2
            first = self._chunk_ids(chunks[mid])
            if first and first[0] <= object_id:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return None
        chunk_hash = chunks[lo - 1]
        ids = self._chunk_ids(chunk_hash)
        at = bisect.bisect_left(ids, object_id)
        if at == len(ids) or ids[at] != object_id:
            return None
        entry = self.cache.get(chunk_hash)["entries"][at]
        return str(entry[1]), (str(entry[2]) if len(entry) > 2 and entry[2] is not None else None)


def find_in(finder: EntryFinder, view: SnapshotView, rtype: ResourceType, name_or_id: str) -> Found:
    """An object in one snapshot by exact id (bisect, fast), else as ``locate`` does (any case, names)."""
    if view.captured(rtype.key):
        hit = finder.find(view.record, rtype.key, name_or_id)
        if hit is not None:
            return Found(rtype, name_or_id, hit[1], hit[0], finder.cache.get(hit[0]))
    return locate(view, rtype, name_or_id)


def names_for(finder: EntryFinder, view: SnapshotView, ids: list[str]) -> dict[str, str]:
    """Display names of ``ids`` in one snapshot (ids it cannot name are left out)."""
    wanted = sorted({i for i in ids if isinstance(i, str)})
    if len(wanted) > BULK_NAMES:
        return {i: name for i in wanted if (name := view.name_of(i)) is not None}
    out: dict[str, str] = {}
    for object_id in wanted:
        for key in NAME_TYPES:
            if not view.captured(key):
                continue
            hit = finder.find(view.record, key, object_id)
            if hit is None and object_id != object_id.lower():
                hit = finder.find(view.record, key, object_id.lower())
            if hit is not None and hit[1]:
                out[object_id] = hit[1]
                break
        else:
            name = view.name_of(object_id) if _has_templates(view) else None
            if name is not None:
                out[object_id] = name
    return out


def _has_templates(view: SnapshotView) -> bool:
    """Role template ids and app ids need opened records; only worth it when those types exist."""
    return view.captured("roleDefinitions") or view.captured("servicePrincipals")


def referenced_ids(value: Any) -> list[str]:
    """Every GUID-looking string inside a JSON value."""
    found: list[str] = []
    if isinstance(value, str):
        if GUID_RE.match(value):
            found.append(value)
    elif isinstance(value, list):
        for item in value:
            found += referenced_ids(item)
    elif isinstance(value, dict):
        for item in value.values():
            found += referenced_ids(item)
    return found


@dataclass
class Version:
    """One entry of an object's history: what happened at ``snapshot`` (and stayed so until ``last``)."""

    event: Event
    snapshot: SnapshotRecord
    last: SnapshotRecord
    count: int = 1
    changes: list[Change] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # ids in the changes -> display names
    status: str | None = None  # the type's status in a notCaptured version

    def as_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot.id,
            "started": self.snapshot.data["started"],
            "event": self.event,
            "changes": [c.as_json() for c in self.changes],
            "status": self.status,
            "last": self.last.id,
            "lastStarted": self.last.data["started"],
            "snapshots": self.count,
            "names": self.names,
        }


@dataclass
class History:
    rtype: ResourceType
    id: str
    name: str | None
    versions: list[Version]

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.rtype.key,
            "id": self.id,
            "name": self.name,
            "versions": [v.as_json() for v in self.versions],
        }


def resolve_id(
    cache: CachedRepository, finder: EntryFinder, records: list[SnapshotRecord], rtype: ResourceType, ref: str
) -> tuple[str, str | None]:
    """(id, name) of an object named by id (any snapshot) or by display name (latest snapshot holding it)."""
    key = rtype.key
    captured = [r for r in reversed(records) if r.types.get(key, {}).get("status") == "ok"]
    if not captured:
        statuses = sorted({str(r.types.get(key, {}).get("status", "absent")) for r in records})
        raise TimelineError(
            f"{key} was never captured in this tenant's snapshots (status {', '.join(statuses)})"
        )
    seen_chunks: set[tuple[str, ...]] = set()
    for record in captured:  # exact id, newest first; identical manifests are looked at once
        chunks = tuple(record.types[key].get("chunks", []))
        if chunks in seen_chunks:
            continue
        seen_chunks.add(chunks)
        hit = finder.find(record, key, ref)
        if hit is not None:
            return ref, hit[1]
    last_error: TimelineError | None = None
    seen_chunks.clear()
    for record in captured:  # id in another case, or a display name
        chunks = tuple(record.types[key].get("chunks", []))
        if chunks in seen_chunks:
            continue
        seen_chunks.add(chunks)
        try:
            found = locate(SnapshotView(cache, record), rtype, ref)
        except TimelineError as exc:
            if " are named " in str(exc):
                raise
            last_error = last_error or exc
            continue
        return found.id, found.name
    assert last_error is not None
    raise TimelineError(str(last_error).replace(f"in snapshot {captured[0].id[:12]}", "in any snapshot", 1))


def object_history(
    cache: CachedRepository,
    records: list[SnapshotRecord],
    rtype: ResourceType,
    ref: str,
    *,
    all_properties: bool = False,
) -> History:
    """Every version of one object across ``records`` (one tenant's snapshots, oldest first)."""
    finder = EntryFinder(cache)
    object_id, name = resolve_id(cache, finder, records, rtype, ref)
    noise = () if all_properties else rtype.noise
    key = rtype.key
    versions: list[Version] = []
    pending_gap: list[Version] = []  # notCaptured before the first appearance: kept only if adjacent
    prev_hash: str | None = None
    prev_record: dict[str, Any] | None = None
    prev_snapshot: SnapshotRecord | None = None
    present = False
    prev_chunks: tuple[str, ...] | None = None
    prev_hit: tuple[str, str | None] | None = None

    def extend_or_add(version: Version) -> None:
        target = versions if prev_hash is not None else pending_gap
        last = target[-1] if target else None
        if last is not None and last.event == "notCaptured" and last.status == version.status:
            last.last, last.count = version.snapshot, last.count + 1
        else:
            target.append(version)

    for snapshot in records:
        info = snapshot.types.get(key)
        status = "absent" if info is None else str(info.get("status", "error"))
        if status != "ok":
            extend_or_add(Version("notCaptured", snapshot, snapshot, status=status))
            continue
        chunks = tuple(info.get("chunks", []) if info else [])
        hit = prev_hit if chunks == prev_chunks else finder.find(snapshot, key, object_id)
        prev_chunks, prev_hit = chunks, hit
        if hit is None:
            pending_gap.clear()
            if present:
                versions.append(Version("disappeared", snapshot, snapshot))
                present = False
            elif versions and versions[-1].event == "disappeared":
                versions[-1].last, versions[-1].count = snapshot, versions[-1].count + 1
            continue
        record_hash, entry_name = hit
        name = entry_name or name
        if prev_hash is None:
            versions.extend(pending_gap)
            pending_gap.clear()
            prev_record = cache.get(record_hash)
            versions.append(Version("appeared", snapshot, snapshot))
        elif not present or record_hash != prev_hash:
            record = cache.get(record_hash)
            assert prev_record is not None and prev_snapshot is not None
            changes = diff_records(prev_record, record, noise)
            event: Event = "changed" if present else "reappeared"
            if changes or not present:
                version = Version(event, snapshot, snapshot, changes=changes)
                version.names = _change_names(finder, cache, prev_snapshot, snapshot, changes)
                versions.append(version)
            elif versions[-1].event != "notCaptured":
                versions[-1].last, versions[-1].count = snapshot, versions[-1].count + 1
            prev_record = record
        else:
            current = versions[-1]
            if current.event != "notCaptured":
                current.last, current.count = snapshot, current.count + 1
        present = True
        prev_hash, prev_snapshot = record_hash, snapshot
    if prev_hash is None:
        raise TimelineError(f"no {key} with id {object_id!r} in any snapshot")
    return History(rtype, object_id, name, versions)


def _change_names(
    finder: EntryFinder,
    cache: CachedRepository,
    before: SnapshotRecord,
    after: SnapshotRecord,
    changes: list[Change],
) -> dict[str, str]:
    """Names for the ids a change mentions: removed ones as they were before, the rest as after."""
    old_ids: list[str] = []
    new_ids: list[str] = []
    for change in changes:
        old_ids += referenced_ids(change.removed) + referenced_ids(change.before)
        new_ids += referenced_ids(change.added) + referenced_ids(change.after)
    names: dict[str, str] = {}
    if old_ids:
        names.update(names_for(finder, SnapshotView(cache, before), old_ids))
    if new_ids:
        names.update(names_for(finder, SnapshotView(cache, after), new_ids))
    return names


__all__ = ["EntryFinder", "History", "Version", "find_in", "names_for", "object_history", "resolve_id"]
