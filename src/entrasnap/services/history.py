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
from entrasnap.services.ids import is_guid
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
BULK_NAMES = 200  # beyond this many ids, build the snapshot's whole name index instead of bisecting


@dataclass(frozen=True)
class Hit:
    """Where an id was found: its record hash and name, and which chunk of which chunk list held it."""

    hash: str
    name: str | None
    chunks: tuple[str, ...]
    position: int


class EntryFinder:
    """Finds an id in a snapshot's type by bisecting its sorted manifest chunks.

    Given the previous snapshot's hit (``near``), a chunk that is still there answers at once, and
    otherwise only the chunks between its unchanged neighbours are searched.
    """

    def __init__(self, cache: CachedRepository) -> None:
        self.cache = cache
        self._ids: dict[str, list[str]] = {}  # chunk hash -> its entry ids, in order
        self._matches: dict[tuple[str, str], list[tuple[str, str | None]]] = {}

    def _chunk_ids(self, chunk_hash: str) -> list[str]:
        ids = self._ids.get(chunk_hash)
        if ids is None:
            ids = [str(entry[0]) for entry in self.cache.get(chunk_hash)["entries"]]
            self._ids[chunk_hash] = ids
        return ids

    def find(self, record: SnapshotRecord, key: str, object_id: str, near: Hit | None = None) -> Hit | None:
        chunks = self.cache.chunks(record, key)
        if not chunks:
            return None
        lo, hi = 0, len(chunks)
        if near is not None:
            if near.chunks == chunks:
                return near
            where = {h: i for i, h in enumerate(chunks)}
            same = where.get(near.chunks[near.position])
            if same is not None:
                return Hit(near.hash, near.name, chunks, same)
            lo = next((where[h] + 1 for h in reversed(near.chunks[: near.position]) if h in where), 0)
            hi = next((where[h] for h in near.chunks[near.position + 1 :] if h in where), len(chunks))
        # The last chunk in [lo, hi) whose first id is <= object_id holds it, if any does.
        start = lo
        while lo < hi:
            mid = (lo + hi) // 2
            first = self._chunk_ids(chunks[mid])
            if first and first[0] <= object_id:
                lo = mid + 1
            else:
                hi = mid
        if lo == start:
            return None
        chunk_hash = chunks[lo - 1]
        ids = self._chunk_ids(chunk_hash)
        at = bisect.bisect_left(ids, object_id)
        if at == len(ids) or ids[at] != object_id:
            return None
        entry = self.cache.get(chunk_hash)["entries"][at]
        name = str(entry[2]) if len(entry) > 2 and entry[2] is not None else None
        return Hit(str(entry[1]), name, chunks, lo - 1)

    def matching(self, record: SnapshotRecord, key: str, ref: str) -> list[tuple[str, str | None]]:
        """(id, name) of entries whose id (any case) or display name (casefolded) is ``ref``."""
        wanted = ref.casefold()
        out: list[tuple[str, str | None]] = []
        for chunk_hash in self.cache.chunks(record, key):
            memo_key = (chunk_hash, wanted)
            found = self._matches.get(memo_key)
            if found is None:
                found = [
                    (str(e[0]), str(e[2]) if len(e) > 2 and e[2] is not None else None)
                    for e in self.cache.get(chunk_hash)["entries"]
                    if str(e[0]).casefold() == wanted
                    or (len(e) > 2 and isinstance(e[2], str) and e[2].casefold() == wanted)
                ]
                self._matches[memo_key] = found
            out += found
        return out


def find_in(finder: EntryFinder, view: SnapshotView, rtype: ResourceType, name_or_id: str) -> Found:
    """An object in one snapshot by exact id (bisect, fast), else as ``locate`` does (any case, names)."""
    if view.captured(rtype.key):
        hit = finder.find(view.record, rtype.key, name_or_id)
        if hit is not None:
            return Found(rtype, name_or_id, hit.name, hit.hash, finder.cache.get(hit.hash))
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
            if hit is not None and hit.name:
                out[object_id] = hit.name
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
        if is_guid(value):
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
    latest = captured[0]
    hit = finder.find(latest, key, ref)
    if hit is not None:
        return ref, hit.name
    try:
        found = locate(SnapshotView(cache, latest), rtype, ref)
        return found.id, found.name
    except TimelineError as exc:
        if " are named " in str(exc):
            raise
        not_found = exc
    seen: set[str | None] = {latest.manifest(key)}
    for record in captured[1:]:  # older snapshots, newest first; identical manifests looked at once
        manifest = record.manifest(key)
        if manifest in seen:
            continue
        seen.add(manifest)
        matches = finder.matching(record, key, ref)
        by_id = [m for m in matches if m[0].casefold() == ref.casefold()]
        if by_id:
            return by_id[0]
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = "; ".join(f"{oid} ({name})" for oid, name in matches[:20])
            raise TimelineError(
                f"{len(matches)} {key} were named {ref!r} in snapshot {record.id[:12]} "
                f"({record.data['started'][:19]}); use an id: {listed}"
            )
    raise TimelineError(re.sub(r"in snapshot \S+ \([^)]*\)", "in any snapshot", str(not_found), count=1))


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
    near: Hit | None = None  # where the object was last seen, to follow it cheaply

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
        hit = finder.find(snapshot, key, object_id, near)
        if hit is None and info is not None and info.get("scope"):
            # captured with a filter (--cloud-only): absence may be the filter, not a deletion
            extend_or_add(Version("notCaptured", snapshot, snapshot, status=f"ok ({info['scope']})"))
            continue
        if hit is None:
            pending_gap.clear()
            if present:
                versions.append(Version("disappeared", snapshot, snapshot))
                present = False
            elif versions and versions[-1].event == "disappeared":
                versions[-1].last, versions[-1].count = snapshot, versions[-1].count + 1
            continue
        near = hit
        record_hash, name = hit.hash, hit.name or name
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
        old_ids += referenced_ids(change.removed)
        new_ids += referenced_ids(change.added)
        if change.kind != "members":  # a set's full before/after lists are not shown, only what moved
            old_ids += referenced_ids(change.before)
            new_ids += referenced_ids(change.after)
    names: dict[str, str] = {}
    if old_ids:
        names.update(names_for(finder, SnapshotView(cache, before), old_ids))
    if new_ids:
        names.update(names_for(finder, SnapshotView(cache, after), new_ids))
    return names


__all__ = ["EntryFinder", "History", "Hit", "Version", "find_in", "names_for", "object_history", "resolve_id"]
