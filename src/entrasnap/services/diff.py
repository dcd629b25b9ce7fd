"""What changed between two snapshots: per type, objects added, removed and modified, with risk flags.

Reads as little as possible: manifest chunks present in both snapshots hold identical entries and are
never opened; within differing chunks, entries with equal record hashes are unchanged; only records
that differ are loaded. Names for ids are looked up only when something needs naming: first from the
manifest entries of the AFTER snapshot, then of the BEFORE one (so deleted objects keep their names),
then through ``SnapshotView.names()`` (role template ids, application ids), after then before.

A type that is not ``ok`` in either snapshot is "not captured" and never yields added or removed
objects. docs/DIFF.md describes the JSON form (``SnapshotDiff.as_json``) and the risk rules.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from multiprocessing.pool import AsyncResult, Pool
from operator import itemgetter
from typing import Any

import orjson

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType
from entrasnap.services import risk
from entrasnap.services.changes import _STR, Change, diff_records, is_noise_cached
from entrasnap.services.ids import GUID, is_guid
from entrasnap.services.risk import Flag
from entrasnap.services.timeline import NAME_TYPES, CachedRepository, SnapshotView
from entrasnap.store import SnapshotRecord
from entrasnap.store.pack import Location

FORMAT = 1

Entry = tuple[str, str | None]  # (record hash, name from the manifest)


@dataclass
class PropertyChange:
    """One property-level change of a modified object, with names for the GUIDs it mentions."""

    change: Change
    noise: bool = False
    names: dict[str, str] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    _guids: set[str] | None = field(default=None, repr=False, compare=False)

    def guids(self) -> set[str]:
        """The GUIDs worth naming: referenced objects, not an element's own id or key id."""
        if self._guids is None:
            self._guids = self._find_guids()
        return self._guids

    def _find_guids(self) -> set[str]:
        change = self.change
        found = {r for r in change.refs if is_guid(r)} if change.refs else set()
        if change.kind == "members":
            values = change.added + change.removed
            if set(map(type, values)) <= _STR:  # ids: matched without a Python step per element
                found.update(filter(GUID.fullmatch, values))
            else:
                found |= {v for v in values if is_guid(v)}
        else:
            for value in (change.before, change.after):
                if isinstance(value, str):  # most changed properties are single values
                    if is_guid(value):
                        found.add(value)
                elif isinstance(value, list | dict):
                    found |= _guids_in(value)
        return {g.lower() for g in found} if found else found

    def as_json(self) -> dict[str, Any]:
        members = self.change.kind == "members"
        out: dict[str, Any] = {
            "path": self.change.path,
            "kind": self.change.kind,
            "before": None if members or self.change.kind == "added" else self.change.before,
            "after": None if members or self.change.kind == "removed" else self.change.after,
            "added": self.change.added if members else [],
            "removed": self.change.removed if members else [],
            "names": self.names,  # made in id order by _name_everything
            "noise": self.noise,
        }
        if self.flags:
            out["risks"] = [f.as_json() for f in self.flags]
        return out


# Properties whose GUID is the object's (or element's) own identity, not a reference to a named object.
OWN_IDS = frozenset({"id", "keyId", "appRoleId"})


def _guids_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if is_guid(value) else set()
    if isinstance(value, list):
        return set().union(*(_guids_in(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(_guids_in(v) for k, v in value.items() if k not in OWN_IDS)) if value else set()
    return set()


@dataclass
class ObjectChange:
    """An object added, removed or modified. ``label`` names objects that have no name of their own
    (role assignments: "{role} → {principal}") from ids resolved later."""

    id: str
    name: str | None
    flags: list[Flag] = field(default_factory=list)
    changes: list[PropertyChange] = field(default_factory=list)
    label: tuple[str, list[str]] | None = None

    def as_json(self, modified: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if modified:
            out["changes"] = [c.as_json() for c in self.changes]
        if self.flags or modified:
            out["risks"] = [f.as_json() for f in self.flags]
        return out


@dataclass
class TypeDiff:
    rtype: ResourceType
    status_from: str
    status_to: str
    added: list[ObjectChange] = field(default_factory=list)
    removed: list[ObjectChange] = field(default_factory=list)
    modified: list[ObjectChange] = field(default_factory=list)
    noise_only: int = 0  # objects whose only changes were noise (hidden)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.modified)

    def objects(self) -> Iterator[ObjectChange]:
        yield from self.added
        yield from self.removed
        yield from self.modified

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.rtype.key,
            "title": self.rtype.title,
            "status": {"from": self.status_from, "to": self.status_to},
            "added": [o.as_json(False) for o in self.added],
            "removed": [o.as_json(False) for o in self.removed],
            "modified": [o.as_json(True) for o in self.modified],
            "noiseHidden": self.noise_only,
        }


@dataclass(frozen=True)
class NotCaptured:
    rtype: ResourceType
    status_from: str
    status_to: str

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.rtype.key,
            "title": self.rtype.title,
            "from": self.status_from,
            "to": self.status_to,
        }


def _snapshot_json(record: SnapshotRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "started": record.data.get("started"),
        "status": record.status,
        "tenant": record.tenant,
    }


@dataclass
class SnapshotDiff:
    before: SnapshotRecord
    after: SnapshotRecord
    types: list[TypeDiff]
    not_captured: list[NotCaptured]
    all_properties: bool = False
    risky_only: bool = False

    @property
    def has_changes(self) -> bool:
        return any(not t.empty for t in self.types)

    def flags(self) -> Iterator[tuple[TypeDiff, str, ObjectChange, Flag]]:
        """Every flag with where it was raised: (type, "added"|"removed"|"modified", object, flag)."""
        for t in self.types:
            for event, objects in (("added", t.added), ("removed", t.removed), ("modified", t.modified)):
                for obj in objects:
                    for flag in obj.flags:
                        yield t, event, obj, flag

    def summary(self) -> dict[str, Any]:
        severities = dict.fromkeys(risk.SEVERITIES, 0)
        for *_, flag in self.flags():
            severities[flag.severity] += 1
        return {
            "types": sum(1 for t in self.types if not t.empty),
            "added": sum(len(t.added) for t in self.types),
            "removed": sum(len(t.removed) for t in self.types),
            "modified": sum(len(t.modified) for t in self.types),
            "risks": sum(severities.values()),
            "bySeverity": severities,
            "notCaptured": len(self.not_captured),
            "noiseHidden": sum(t.noise_only for t in self.types),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "from": _snapshot_json(self.before),
            "to": _snapshot_json(self.after),
            "options": {"all": self.all_properties, "riskyOnly": self.risky_only},
            "summary": self.summary(),
            "types": [t.as_json() for t in self.types if not t.empty],
            "notCaptured": [n.as_json() for n in self.not_captured],
        }

    def only_risky(self) -> SnapshotDiff:
        """Just the flagged objects; of a modified object, just the flagged property changes (all of
        them when a flag concerns the whole object)."""
        kept: list[TypeDiff] = []
        for t in self.types:
            modified = []
            for obj in t.modified:
                if not obj.flags:
                    continue
                whole = any(f.path is None for f in obj.flags)
                changes = obj.changes if whole else [c for c in obj.changes if c.flags]
                modified.append(replace(obj, changes=changes or obj.changes))
            kept.append(
                replace(
                    t,
                    added=[o for o in t.added if o.flags],
                    removed=[o for o in t.removed if o.flags],
                    modified=modified,
                    noise_only=0,
                )
            )
        return replace(self, types=kept, risky_only=True)


# --- computing -------------------------------------------------------------------------------------


PREFETCH = 2000  # modified objects whose two versions are read together


def differing_entries(
    cache: CachedRepository, before: SnapshotRecord, after: SnapshotRecord, key: str
) -> tuple[dict[str, Entry], dict[str, Entry]]:
    """Entries of ``key`` from the chunks that are not in both snapshots, by lower-case id.

    A chunk in both snapshots holds the same entries on both sides, and an id is in one chunk only:
    everything outside the returned maps is unchanged.
    """
    old: dict[str, Entry] = {}
    new: dict[str, Entry] = {}
    for chunks_before, chunks_after in _differing_chunks(cache, before, after, key, steps=1):
        old.update(_read_entries(cache, chunks_before))
        new.update(_read_entries(cache, chunks_after))
    return old, new


SLICE = 32  # manifest chunks per side read in one step when planning a type


def _differing_chunks(
    cache: CachedRepository, before: SnapshotRecord, after: SnapshotRecord, key: str, steps: int = 0
) -> list[tuple[list[str], list[str]]]:
    """The chunks of ``key`` that are not in both snapshots, BEFORE's and AFTER's, cut into ``steps``
    parts (0: about SLICE chunks per side each). Both sides' chunks are in id order, so the two entries
    of an object mostly come in the same part."""
    chunks_before = list(cache.chunks(before, key))
    chunks_after = list(cache.chunks(after, key))
    common = set(chunks_before) & set(chunks_after)
    only_before = [c for c in chunks_before if c not in common]
    only_after = [c for c in chunks_after if c not in common]
    steps = steps or max(1, -(-max(len(only_before), len(only_after)) // SLICE))
    size_before, size_after = -(-len(only_before) // steps), -(-len(only_after) // steps)
    return [
        (
            only_before[step * size_before : (step + 1) * size_before],
            only_after[step * size_after : (step + 1) * size_after],
        )
        for step in range(steps)
    ]


def _read_entries(cache: CachedRepository, chunks: list[str]) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for value in cache.get_many(chunks, keep=True).values():
        entries = value["entries"]
        if min(map(len, entries), default=3) >= 3:
            try:  # string ids: the entries are taken apart in C
                ids = map(str.lower, map(itemgetter(0), entries))
                hashes = map(str, map(itemgetter(1), entries))
                out.update(zip(ids, zip(hashes, map(itemgetter(2), entries), strict=True), strict=True))
                continue
            except TypeError:
                pass
        for entry in entries:
            out[str(entry[0]).lower()] = (str(entry[1]), entry[2] if len(entry) > 2 else None)
    return out


def _ids(entries: dict[str, Entry], ids: Iterable[str]) -> list[tuple[str, Entry]]:
    return sorted(((i, entries[i]) for i in ids), key=lambda item: ((item[1][1] or "").casefold(), item[0]))


def _label(record: dict[str, Any] | None) -> tuple[str, list[str]] | None:
    """A name made of the ids an object refers to, for objects named by a GUID (assignments, grants)."""
    obj = (record or {}).get("object") or {}
    role, principal = obj.get("roleDefinitionId"), obj.get("principalId")
    if isinstance(role, str) and isinstance(principal, str):
        scope = obj.get("directoryScopeId")
        suffix = f" (scope {scope})" if isinstance(scope, str) and scope not in ("/", "") else ""
        return "{0} → {1}" + suffix.replace("{", "{{").replace("}", "}}"), [role, principal]
    group, access = obj.get("groupId"), obj.get("accessId")
    if isinstance(group, str) and isinstance(access, str) and isinstance(principal, str):
        return "{0} (" + access.replace("{", "{{").replace("}", "}}") + ") → {1}", [group, principal]
    client, resource = obj.get("clientId"), obj.get("resourceId")
    if isinstance(client, str) and isinstance(resource, str):
        scope_text = str(obj.get("scope") or "").strip().replace("{", "{{").replace("}", "}}")
        return "{0} → {1}: " + scope_text, [client, resource]
    return None


def _needs_label(rtype: ResourceType, name: str | None) -> bool:
    return name is None or is_guid(name) or rtype.name_field in ("roleDefinitionId", "accessId", "scope")


def _object_id(record: dict[str, Any] | None, fallback: str) -> str:
    return str((record or {}).get("id") or fallback)


def _flag_changes(changes: list[PropertyChange], flags: list[Flag]) -> None:
    for flag in flags:
        if flag.path is None:
            continue
        for pc in changes:
            path = pc.change.path
            if path == flag.path or path.startswith(flag.path + ".") or path.startswith(flag.path + "["):
                pc.flags.append(flag)


Job = tuple[str, str, str, str, str | None]  # (type key, hash before, hash after, object id, name)
Compared = tuple[ObjectChange | None, bool]  # (the change to show, or None; whether it was noise only)


def diff_type(
    cache: CachedRepository,
    before: SnapshotRecord,
    after: SnapshotRecord,
    rtype: ResourceType,
    *,
    all_properties: bool = False,
) -> TypeDiff:
    """Objects of one type (ok in both snapshots) added, removed and modified."""
    comparer = Comparer(cache, all_properties, workers=1)
    result = _plan_type(cache, before, after, rtype, comparer)
    _add_modified([result], comparer.results())
    return result


def _plan_type(
    cache: CachedRepository,
    before: SnapshotRecord,
    after: SnapshotRecord,
    rtype: ResourceType,
    comparer: Comparer,
) -> TypeDiff:
    """A type's added and removed objects; the modified ones go to ``comparer`` as soon as both their
    entries are read (so that they are compared while the rest is read and listed)."""
    key = rtype.key
    result = TypeDiff(rtype, "ok", "ok")
    old: dict[str, Entry] = {}
    new: dict[str, Entry] = {}
    parts = _differing_chunks(cache, before, after, key)
    done = 0
    for step, (chunks_before, chunks_after) in enumerate(parts, 1):
        part_old, part_new = _read_entries(cache, chunks_before), _read_entries(cache, chunks_after)
        old.update(part_old)
        new.update(part_new)
        # Objects whose two entries are now both known (each found once: in this step's AFTER part,
        # or in its BEFORE part when the AFTER entry came earlier).
        jobs = [
            (key, was[0], entry[0], oid, entry[1])
            for oid, entry in part_new.items()
            if (was := old.get(oid)) is not None and was[0] != entry[0]
        ]
        jobs += [
            (key, was[0], entry[0], oid, entry[1])
            for oid, was in part_old.items()
            if oid not in part_new and (entry := new.get(oid)) is not None and was[0] != entry[0]
        ]
        done += len(jobs)
        comparer.add(jobs, more=done * (len(parts) - step) // step)  # more: expected from the rest
    if not old and not new:
        return result
    for oid, (digest, name) in _ids(new, new.keys() - old.keys()):
        labelled = _needs_label(rtype, name)
        record = cache.get(digest) if labelled or risk.has_rules(key, "added") else None
        flags = risk.assess(key, "added", None, record) if record is not None else []
        label = _label(record) if labelled else None
        result.added.append(ObjectChange(_object_id(record, oid), name, flags, label=label))
    for oid, (digest, name) in _ids(old, old.keys() - new.keys()):
        labelled = _needs_label(rtype, name)
        record = cache.get(digest) if labelled or risk.has_rules(key, "removed") else None
        flags = risk.assess(key, "removed", record, None) if record is not None else []
        label = _label(record) if labelled else None
        result.removed.append(ObjectChange(_object_id(record, oid), name, flags, label=label))
    return result


def _add_modified(results: list[TypeDiff], compared: list[tuple[Job, Compared]]) -> None:
    by_key = {r.rtype.key: r for r in results}
    for job, (change, noise_only) in compared:
        result = by_key[job[0]]
        result.noise_only += noise_only
        if change is not None:
            result.modified.append(change)


PARALLEL_FROM = 4000  # modified objects from which comparing them in worker processes pays off
BATCH = 500  # modified objects per task of a worker process
_forked: dict[str, Any] = {}  # what forked workers compare with: set only while a Comparer runs a pool


class Comparer:
    """Each modified object's change, compared as types are planned. Reading and decoding two versions
    per modified object is most of a large diff's work: with ``workers`` > 1 (None: one per CPU, at most
    4, once PARALLEL_FROM jobs are known, where processes can be forked) batches go to forked processes
    that share the open repository as soon as they are full, while this process plans the next types.
    """

    def __init__(self, cache: CachedRepository, all_properties: bool, workers: int | None) -> None:
        self.cache = cache
        self.all_properties = all_properties
        self.workers = workers
        self.jobs: list[Job] = []
        self._sent = 0
        self._pending: list[AsyncResult[list[Any]]] = []
        self._pool: Pool | None = None

    def add(self, jobs: list[Job], more: int = 0) -> None:
        """Jobs to compare, in any order; ``more``: how many more are expected soon (an estimate)."""
        self.jobs += jobs
        if self._pool is None and self.jobs:
            count = self.workers
            if count is None:
                forkable = "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux"
                big = len(self.jobs) + more >= PARALLEL_FROM
                count = min(os.cpu_count() or 1, 4) if forkable and big else 1
            if count > 1:
                _forked.update(cache=self.cache, all_properties=self.all_properties)
                self._pool = multiprocessing.get_context("fork").Pool(count)
        if self._pool is not None:
            while len(self.jobs) - self._sent >= BATCH:
                self._send(self.jobs[self._sent : self._sent + BATCH])

    def _send(self, batch: list[Job]) -> None:
        """A batch to the workers, with where its records are (read after the workers were forked)."""
        assert self._pool is not None
        repository = self.cache.repository
        hints = [
            (h, at) for job in batch for h in (job[1], job[2]) if (at := repository.locate(h)) is not None
        ]
        self._pending.append(self._pool.apply_async(_compare_forked, (batch, hints)))
        self._sent += len(batch)

    def results(self) -> list[tuple[Job, Compared]]:
        """Every job with its change, by name then id (as ``_ids`` orders the others; with workers,
        sorted while they compare)."""
        jobs = self.jobs
        try:
            if self._pool is None:
                compared = [
                    c
                    for i in range(0, len(jobs), PREFETCH)
                    for c in _compare_batch(self.cache, jobs[i : i + PREFETCH], self.all_properties)
                ]
                order = _display_order(jobs)
            else:
                if self._sent < len(jobs):
                    self._send(jobs[self._sent :])
                order = _display_order(jobs)
                compared = [_unflat(c) for pending in self._pending for c in pending.get()]
            return [(jobs[i], compared[i]) for i in order]
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
            _forked.clear()


def _display_order(jobs: list[Job]) -> list[int]:
    return sorted(range(len(jobs)), key=lambda i: ((jobs[i][4] or "").casefold(), jobs[i][3]))


def _compare_forked(batch: list[Job], hints: list[tuple[str, Location]]) -> list[Any]:
    cache: CachedRepository = _forked["cache"]
    for hash_hex, at in hints:
        cache.repository.hint(hash_hex, at)
    return [_flat(item) for item in _compare_batch(cache, batch, _forked["all_properties"])]


# Results cross from worker processes as plain tuples: pickle handles those without a Python call per
# object (a large diff returns tens of thousands of changes).


def _flat(item: Compared) -> Any:
    change, noise_only = item
    if change is None:
        return noise_only
    changes = [
        (
            c.path,
            c.kind,
            c.before,
            c.after,
            c.added,
            c.removed,
            c.refs,
            c.object_ids,
            pc.noise,
            pc.flags,
            pc._guids,
        )
        for pc in change.changes
        for c in (pc.change,)
    ]
    return change.id, change.name, change.flags, changes, change.label


def _unflat(flat: Any) -> Compared:
    if isinstance(flat, bool):
        return None, flat
    oid, name, flags, changes, label = flat
    return ObjectChange(
        oid,
        name,
        flags,
        [PropertyChange(Change(*c[:8]), c[8], {}, c[9], c[10]) for c in changes],
        label,
    ), False


def _compare_batch(cache: CachedRepository, batch: list[Job], all_properties: bool) -> list[Compared]:
    # Read as bytes, decoded pair by pair: each pair is compared while still in the CPU's caches.
    data = cache.repository.get_many_data(h for job in batch for h in (job[1], job[2]))
    loads = orjson.loads
    return [
        _modified(catalog.BY_KEY[key], loads(data[h_before]), loads(data[h_after]), oid, name, all_properties)
        for key, h_before, h_after, oid, name in batch
    ]


def _modified(
    rtype: ResourceType,
    record_before: dict[str, Any],
    record_after: dict[str, Any],
    oid: str,
    name: str | None,
    all_properties: bool,
) -> Compared:
    """One modified object's shown changes and flags (None when its only changes are noise)."""
    changes = [
        PropertyChange(c, noise=is_noise_cached(c.path, rtype.noise))
        for c in diff_records(record_before, record_after)
    ]
    flags = risk.assess(rtype.key, "modified", record_before, record_after)
    shown = changes if all_properties else [c for c in changes if not c.noise]
    if not shown and not flags:
        return None, bool(changes)
    _flag_changes(shown, flags)
    for pc in shown:
        pc.guids()  # found here, in the worker, rather than in the parent later
        if pc.change.kind == "members":  # what was gained and lost is kept; the whole lists are not needed
            pc.change.before = pc.change.after = None
    label = _label(record_after) if _needs_label(rtype, name) else None
    return ObjectChange(str(record_after.get("id") or oid), name, flags, shown, label), False


class NameResolver:
    """Names for ids: AFTER's manifest names, BEFORE's, then each snapshot's ``names()``."""

    def __init__(self, after: SnapshotView, before: SnapshotView) -> None:
        self.views = (after, before)

    @staticmethod
    def _entry_names(view: SnapshotView, wanted: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for key in NAME_TYPES:
            if view.captured(key):
                for chunk in view.cache.chunks(view.record, key):
                    _chunk_names(view.cache.get(chunk)["entries"], wanted, found)
        return found

    def resolve(self, ids: set[str], object_ids: Iterable[str] = ()) -> dict[str, str]:
        """Names for ``ids``; those in ``object_ids`` are known to be directory object ids, so the
        name tables of application and role template ids (which read every service principal and
        role definition) are consulted only for the others."""
        pending = {i.lower() for i in ids}
        names: dict[str, str] = {}
        for view in self.views:
            if not pending:
                return names
            hits = self._entry_names(view, pending)
            names.update(hits)
            pending -= hits.keys()
        pending -= {i.lower() for i in object_ids}
        for view in self.views:
            if not pending:
                return names
            table = view.names()
            for i in list(pending):
                if i in table:
                    names[i] = table[i][1]
                    pending.discard(i)
        return names


def _chunk_names(entries: list[list[Any]], wanted: set[str], found: dict[str, str]) -> None:
    """Adds the names of wanted ids among a manifest chunk's entries to ``found`` (the first name found
    for an id wins). The ids are matched in C, as a set: a year-apart diff names thousands of ids."""
    try:
        by_id = dict(zip(map(str.lower, map(itemgetter(0), entries)), entries, strict=True))
    except (TypeError, IndexError):  # an id that is not a string: entry by entry, below
        by_id = {}
    if len(by_id) != len(entries):
        for entry in entries:
            lowered, name = str(entry[0]).lower(), entry[2] if len(entry) > 2 else None
            if name and lowered in wanted and lowered not in found:
                found[lowered] = name
        return
    for lowered in wanted.intersection(by_id):
        entry = by_id[lowered]
        name = entry[2] if len(entry) > 2 else None
        if name and lowered not in found:
            found[lowered] = name


# Properties that list directory object ids only (never application or role template ids).
OBJECT_ID_LISTS = frozenset({"includeUsers", "excludeUsers", "includeGroups", "excludeGroups"})


def _name_everything(result: SnapshotDiff, resolver: NameResolver) -> None:
    wanted: set[str] = set()
    maybe_other: set[str] = set()  # GUIDs that may be application or role template ids
    for t in result.types:
        for obj in t.objects():
            if obj.label:
                wanted |= {i.lower() for i in obj.label[1]}
                maybe_other |= {i.lower() for i in obj.label[1]}
            for pc in obj.changes:
                found = pc.guids()
                if not found:
                    continue
                wanted |= found
                if not pc.change.object_ids and pc.change.path.rsplit(".", 1)[-1] not in OBJECT_ID_LISTS:
                    maybe_other |= found
    if not wanted:
        return
    names = resolver.resolve(wanted, wanted - maybe_other)
    for t in result.types:
        for obj in t.objects():
            if obj.label:
                fmt, ids = obj.label
                obj.name = fmt.format(*(names.get(i.lower(), i) for i in ids))
            for pc in obj.changes:
                found = pc.guids()
                pc.names = {g: names[g] for g in sorted(found) if g in names} if found else {}


def diff_snapshots(
    cache: CachedRepository,
    before: SnapshotRecord,
    after: SnapshotRecord,
    *,
    types: Iterable[str] | None = None,
    all_properties: bool = False,
    workers: int | None = None,
) -> SnapshotDiff:
    """The changes from ``before`` to ``after`` for ``types`` (catalog keys; default all), in catalog order.

    ``workers``: processes comparing modified objects (None: chosen by size, see ``Comparer``). A caller
    diffing large snapshots may want ``timeline.without_gc()`` around this and the rendering, as the CLI has.
    """
    chosen = set(types) if types is not None else None
    type_diffs: list[TypeDiff] = []
    not_captured: list[NotCaptured] = []
    view_before, view_after = SnapshotView(cache, before), SnapshotView(cache, after)
    comparer = Comparer(cache, all_properties, workers)
    try:
        for rtype in catalog.CATALOG:
            if chosen is not None and rtype.key not in chosen:
                continue
            status_from, status_to = view_before.status(rtype.key), view_after.status(rtype.key)
            if status_from == "absent" and status_to == "absent":
                continue
            scope_from, scope_to = view_before.scope(rtype.key), view_after.scope(rtype.key)
            if scope_from != scope_to:  # e.g. --cloud-only on one side: left-out objects are not deletions
                status_from += f" ({scope_from})" if scope_from else " (all objects)"
                status_to += f" ({scope_to})" if scope_to else " (all objects)"
            if status_from != "ok" or status_to != "ok":
                not_captured.append(NotCaptured(rtype, status_from, status_to))
                continue
            type_diffs.append(_plan_type(cache, before, after, rtype, comparer))
        _add_modified(type_diffs, comparer.results())
    finally:
        comparer.close()
    result = SnapshotDiff(before, after, type_diffs, not_captured, all_properties)
    _name_everything(result, NameResolver(view_after, view_before))
    return result


__all__ = [
    "FORMAT",
    "NameResolver",
    "NotCaptured",
    "ObjectChange",
    "PropertyChange",
    "SnapshotDiff",
    "TypeDiff",
    "diff_snapshots",
    "diff_type",
    "differing_entries",
]
