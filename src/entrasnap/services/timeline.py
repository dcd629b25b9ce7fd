"""Reading a repository through time: snapshots of one tenant, objects by id or name, names for ids.

Manifest chunks are shared between snapshots that did not change, so reads are cached by hash: a
year of daily snapshots mostly re-reads the same chunks.
"""

from __future__ import annotations

import difflib
import gc
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType
from entrasnap.store import Repository, SnapshotRecord, StoreError

NAME_TYPES = (
    "users",
    "groups",
    "servicePrincipals",
    "applications",
    "directoryRoleTemplates",
    "roleDefinitions",
    "directoryRoles",
    "namedLocations",
    "authenticationStrengthPolicies",
    "administrativeUnits",
    "conditionalAccessPolicies",
    "devices",
    "authenticationContextClassReferences",
    "accessPackages",
    "accessPackageCatalogs",
)


@contextmanager
def without_gc() -> Iterator[None]:
    """Python's cycle collector off for a while. Reading through time allocates many objects (decoded
    records and manifests, changes) that form no cycles, and every full collection walks all of them
    (measured on a year of fakegraph M: a year-apart diff 5.5 s with the collector, 3.4 s without;
    a group's history 0.9 s and 0.75 s).

    What was allocated meanwhile is then counted as old (moved to the oldest generation, as a full
    collection would leave it): switched back on as it was, the collector would walk all of it at the
    next allocation (a year-apart diff of M: about half a second, just before exiting)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:  # (leave objects frozen by someone else alone)
                gc.freeze()
                gc.unfreeze()
            gc.enable()


class TimelineError(Exception):
    """A lookup that cannot be answered, explained in one line (unknown type, name, date...)."""


class CachedRepository:
    """A repository whose reads are cached by content hash (content never changes)."""

    def __init__(self, repository: Repository, size: int = 8192) -> None:
        self.repository = repository
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._size = size

    def get(self, digest: str) -> Any:
        value = self._cache.get(digest)
        if value is None:
            value = self.repository.get(digest)
            self._keep(digest, value)
        else:
            self._cache.move_to_end(digest)
        return value

    def _keep(self, digest: str, value: Any) -> None:
        self._cache[digest] = value
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)

    def get_many(self, digests: Iterable[str], *, keep: bool = False) -> dict[str, Any]:
        """Many values at once, without evicting the cache for them (one pass over a type's changes)
        unless ``keep`` asks to cache what was read (values that will be read again, such as chunks).

        Sequential on purpose: measured on a year of snapshots, threads were twice as slow (each read is
        ~80 us of mostly GIL-holding work); the repository reads each pack once for the whole batch.
        """
        wanted = list(dict.fromkeys(digests))
        read = self.repository.get_many(d for d in wanted if d not in self._cache)
        found = {d: read[d] if d in read else self._cache[d] for d in wanted}
        if keep:
            for digest, value in read.items():
                self._keep(digest, value)
        return found

    def chunks(self, record: SnapshotRecord, key: str) -> tuple[str, ...]:
        """A type's manifest chunk hashes in a snapshot (none when the snapshot lacks the type)."""
        return self.repository.chunks(record, key) if key in record.types else ()

    def entries(self, record: SnapshotRecord, key: str) -> list[tuple[str, str, str | None]]:
        out: list[tuple[str, str, str | None]] = []
        for chunk_hash in self.chunks(record, key):
            for entry in self.get(chunk_hash)["entries"]:
                out.append((str(entry[0]), str(entry[1]), entry[2] if len(entry) > 2 else None))
        return out


def resource_type(key: str) -> ResourceType:
    """A catalog type by key (case-insensitive); unknown keys list close matches."""
    found = catalog.BY_KEY.get(key) or next(
        (t for k, t in catalog.BY_KEY.items() if k.lower() == key.lower()), None
    )
    if found is None:
        close = difflib.get_close_matches(key, list(catalog.BY_KEY), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `entrasnap permissions --list`"
        raise TimelineError(f"unknown type {key!r}{hint}")
    return found


def tenant_records(repository: Repository, tenant: str | None = None) -> list[SnapshotRecord]:
    """One tenant's snapshots, oldest first; with several tenants in the repository one must be named."""
    records = repository.snapshots()
    if not records:
        raise TimelineError("the repository has no snapshots yet")
    tenants: dict[str, set[str]] = {}
    for record in records:
        tid = str(record.tenant.get("id"))
        tenants.setdefault(tid, set()).update(str(v).lower() for v in record.tenant.values() if v)
    if tenant is None:
        if len(tenants) > 1:
            raise TimelineError(
                "the repository holds several tenants; choose one with --tenant: "
                + ", ".join(sorted(tenants))
            )
        return records
    wanted = tenant.lower()
    match = [tid for tid, names in tenants.items() if wanted in names]
    if not match:
        raise TimelineError(
            f"no snapshots of tenant {tenant!r}; the repository holds {', '.join(sorted(tenants))}"
        )
    return [r for r in records if str(r.tenant.get("id")) == match[0]]


def _parse_moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if len(text) == 10:  # a date: the end of that day
        moment += timedelta(days=1) - timedelta(microseconds=1)
    return moment


def pick(records: list[SnapshotRecord], ref: str | None) -> SnapshotRecord:
    """A snapshot among ``records``: id or prefix, latest, previous, or a date/time (last at or before)."""
    if not records:
        raise TimelineError("no snapshots")
    if ref is None or ref.strip().lower() == "latest":
        return records[-1]
    keyword = ref.strip().lower()
    if keyword == "previous":
        if len(records) < 2:
            raise TimelineError("there is no previous snapshot: only one snapshot exists")
        return records[-2]
    moment = _parse_moment(ref)
    if moment is not None:
        before = [r for r in records if r.started <= moment]
        if not before:
            raise TimelineError(f"{ref} is before the first snapshot ({records[0].data['started']})")
        return before[-1]
    lowered = ref.lower()
    matches = [r for r in records if r.id.startswith(lowered)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise TimelineError(
            f"snapshot id {ref!r} is ambiguous: " + ", ".join(r.id[:12] for r in matches[:10])
        )
    raise TimelineError(f"no snapshot {ref!r}: use an id, 'latest', 'previous' or a date such as 2026-11-27")


@dataclass(frozen=True)
class Found:
    """An object located in a snapshot."""

    rtype: ResourceType
    id: str
    name: str | None
    hash: str
    record: dict[str, Any]


class SnapshotView:
    """One snapshot, read lazily through a shared cache."""

    def __init__(self, cache: CachedRepository, record: SnapshotRecord) -> None:
        self.cache = cache
        self.record = record
        self._entries: dict[str, list[tuple[str, str, str | None]]] = {}
        self._index: dict[str, dict[str, tuple[str, str | None]]] = {}
        self._names: dict[str, tuple[str, str]] | None = None

    def status(self, key: str) -> str:
        info = self.record.types.get(key)
        return "absent" if info is None else str(info.get("status", "error"))

    def scope(self, key: str) -> str | None:
        """The filter a type was captured with (``cloudOnly``), or None for every object."""
        scope = self.record.types.get(key, {}).get("scope")
        return None if scope is None else str(scope)

    def captured(self, key: str) -> bool:
        return self.status(key) == "ok"

    def entries(self, key: str) -> list[tuple[str, str, str | None]]:
        if key not in self._entries:
            self._entries[key] = self.cache.entries(self.record, key)
        return self._entries[key]

    def index(self, key: str) -> dict[str, tuple[str, str | None]]:
        """Object id (lower-case) -> (record hash, name)."""
        if key not in self._index:
            self._index[key] = {oid.lower(): (h, name) for oid, h, name in self.entries(key)}
        return self._index[key]

    def get(self, key: str, object_id: str) -> Found | None:
        hit = self.index(key).get(object_id.lower())
        if hit is None:
            return None
        record = self.cache.get(hit[0])
        return Found(catalog.BY_KEY[key], str(record["id"]), hit[1], hit[0], record)

    def named(self, key: str, name: str) -> list[tuple[str, str | None]]:
        wanted = name.casefold()
        return [(oid, n) for oid, _, n in self.entries(key) if n is not None and n.casefold() == wanted]

    def names(self) -> dict[str, tuple[str, str]]:
        """Every id this snapshot can name: id (lower-case) -> (type key, display name)."""
        if self._names is None:
            names: dict[str, tuple[str, str]] = {}
            for key in NAME_TYPES:
                for oid, _, name in self.entries(key):
                    if name:
                        names.setdefault(oid.lower(), (key, name))
            # Roles are referred to by template id in Conditional Access: name templates' ids too.
            for _, h, name in self.entries("roleDefinitions"):
                if name:
                    template = self.cache.get(h)["object"].get("templateId")
                    if isinstance(template, str):
                        names.setdefault(template.lower(), ("roleDefinitions", name))
            for _, h, name in self.entries("servicePrincipals"):
                if name:
                    app_id = self.cache.get(h)["object"].get("appId")
                    if isinstance(app_id, str):
                        names.setdefault(app_id.lower(), ("servicePrincipals", name))
            self._names = names
        return self._names

    def name_of(self, object_id: str) -> str | None:
        hit = self.names().get(object_id.lower())
        return hit[1] if hit else None


def locate(view: SnapshotView, rtype: ResourceType, name_or_id: str) -> Found:
    """An object by id, or by its display name (an ambiguous name lists the candidates with ids)."""
    key = rtype.key
    if not view.captured(key):
        raise TimelineError(
            f"{key} was not captured in snapshot {view.record.id[:12]} (status {view.status(key)})"
        )
    found = view.get(key, name_or_id)
    if found is not None:
        return found
    matches = view.named(key, name_or_id)
    if len(matches) == 1:
        found = view.get(key, matches[0][0])
        assert found is not None
        return found
    if len(matches) > 1:
        listed = "; ".join(f"{oid} ({name})" for oid, name in matches[:20])
        raise TimelineError(f"{len(matches)} {key} are named {name_or_id!r}; use an id: {listed}")
    names = [n for _, _, n in view.entries(key) if n]
    close = difflib.get_close_matches(name_or_id, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise TimelineError(
        f"no {key} with id or name {name_or_id!r} in snapshot {view.record.id[:12]} "
        f"({view.record.data['started'][:19]}){hint}"
    )


__all__ = [
    "CachedRepository",
    "Found",
    "SnapshotView",
    "StoreError",
    "TimelineError",
    "locate",
    "pick",
    "resource_type",
    "tenant_records",
    "without_gc",
]
