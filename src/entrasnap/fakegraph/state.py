"""In-memory state of a fake tenant: entity sets, links, singletons, recycle bin and change log.

Keys are the documented Graph paths without the version prefix, with parameters filled in:
``users``, ``identity/conditionalAccess/policies``, ``applications/<id>/federatedIdentityCredentials``.
Links (references between objects, such as group members) are keyed by ``<set>/<navigation>``:
``groups/members`` maps a group id to the ids of its members.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]


def utcnow() -> datetime:
    return datetime.now(UTC)


def isotime(moment: datetime | None = None) -> str:
    """Graph's timestamp format: ISO 8601 in UTC with a Z suffix."""
    value = (moment or utcnow()).astimezone(UTC).replace(microsecond=0)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class EntitySet:
    """Objects of one collection, kept in id order so that paging is stable while it changes."""

    __slots__ = ("__ids", "_indexes", "_sorted", "id_field", "objects", "version")

    def __init__(self, id_field: str = "id") -> None:
        self.id_field = id_field
        self.objects: dict[str, JSON] = {}
        self.__ids: list[str] = []
        self._sorted = True
        self.version = 0
        self._indexes: dict[str, tuple[int, dict[Any, list[str]]]] = {}

    @property
    def _ids(self) -> list[str]:
        """Ids in order; appends during bulk generation are sorted once, on first read."""
        if not self._sorted:
            self.__ids.sort()
            self._sorted = True
        return self.__ids

    def put(self, obj: JSON) -> JSON:
        object_id = obj[self.id_field]
        if object_id not in self.objects:
            ids = self.__ids
            if self._sorted and ids and object_id < ids[-1]:
                self._sorted = False
            ids.append(object_id)
        self.objects[object_id] = obj
        self.version += 1
        return obj

    def index(self, prop: str) -> dict[Any, list[str]]:
        """Ids by the value of ``prop`` (each list in id order), rebuilt only after the set changed."""
        cached = self._indexes.get(prop)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        built: dict[Any, list[str]] = {}
        for object_id in self._ids:
            value = self.objects[object_id].get(prop)
            if isinstance(value, str):
                value = value.lower()
            elif isinstance(value, (list, dict)):
                continue  # a collection or complex value is never the scalar looked up
            built.setdefault(value, []).append(object_id)
        self._indexes[prop] = (self.version, built)
        return built

    def get(self, object_id: str) -> JSON | None:
        return self.objects.get(object_id)

    def remove(self, object_id: str) -> JSON | None:
        obj = self.objects.pop(object_id, None)
        if obj is not None:
            index = bisect.bisect_left(self._ids, object_id)
            del self._ids[index]
            self.version += 1
        return obj

    def after(self, last_id: str | None = None, ids: list[str] | None = None) -> Iterator[JSON]:
        """Objects in id order, starting after ``last_id``: all of them, or those of ``ids`` (in id order,
        as ``index`` lists them)."""
        ids = self._ids if ids is None else ids
        start = 0 if last_id is None else bisect.bisect_right(ids, last_id)
        for object_id in itertools.islice(ids, start, None):
            yield self.objects[object_id]

    def ids(self) -> list[str]:
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, object_id: object) -> bool:
        return object_id in self.objects


@dataclass(frozen=True, slots=True)
class Change:
    """One recorded change, for delta queries: an object upserted or deleted, or a link changed."""

    seq: int
    set_key: str
    object_id: str
    deleted: bool = False
    link: str | None = None  # navigation name, e.g. "members", for link changes
    target: str | None = None  # the linked object's id
    removed: bool = False  # link removed (True) or added (False)
    permanent: bool = False  # deletion was permanent (hard delete), not to the recycle bin


@dataclass
class ChangeLog:
    """Append-only list of changes since the tenant was generated, with sequence numbers."""

    changes: list[Change] = field(default_factory=list)
    seq: int = 0

    def record(self, set_key: str, object_id: str, **kwargs: Any) -> Change:
        self.seq += 1
        change = Change(self.seq, set_key, object_id, **kwargs)
        self.changes.append(change)
        return change

    def since(self, seq: int) -> Iterator[Change]:
        index = bisect.bisect_right(self.changes, seq, key=lambda change: change.seq)
        yield from itertools.islice(self.changes, index, None)


@dataclass
class DeletedItem:
    """A soft-deleted directory object in the recycle bin."""

    obj: JSON
    set_key: str
    deleted_at: datetime
    links: dict[str, list[str]] = field(default_factory=dict)  # its own navigation -> ids, restored with it
    incoming: list[tuple[str, str]] = field(default_factory=list)  # (link key, source id) that pointed at it


@dataclass
class Store:
    """The whole state of one fake tenant."""

    tenant_id: str
    domain: str
    size: str = "S"
    seed: int = 0
    licenses: set[str] = field(default_factory=set)
    sets: dict[str, EntitySet] = field(default_factory=dict)
    singletons: dict[str, JSON] = field(default_factory=dict)
    links: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    directory: dict[str, str] = field(default_factory=dict)  # directoryObject id -> set key
    recycle: dict[str, DeletedItem] = field(default_factory=dict)
    changes: ChangeLog = field(default_factory=ChangeLog)

    # --- entity sets -------------------------------------------------------------------------------

    def set(self, key: str, id_field: str = "id") -> EntitySet:
        """The entity set at ``key``, created empty on first use."""
        entity_set = self.sets.get(key)
        if entity_set is None:
            entity_set = self.sets[key] = EntitySet(id_field)
        return entity_set

    def add(self, key: str, obj: JSON, *, directory_object: bool = False) -> JSON:
        """Store ``obj`` in the set at ``key``; directory objects are also indexed by id."""
        self.set(key).put(obj)
        if directory_object:
            self.directory[obj["id"]] = key
        return obj

    def resolve(self, object_id: str) -> tuple[str, JSON] | None:
        """A directory object by id, with the key of the set that holds it."""
        key = self.directory.get(object_id)
        if key is None:
            return None
        obj = self.sets[key].get(object_id)
        return None if obj is None else (key, obj)

    # --- links ----------------------------------------------------------------------------------

    def linked(self, link_key: str, source_id: str) -> list[str]:
        return self.links.get(link_key, {}).get(source_id, [])

    def linking(self, link_keys: Iterable[str], target_id: str) -> list[str]:
        """The sources whose links under any of ``link_keys`` include ``target_id``, sorted (``appliesTo``)."""
        return sorted(
            source
            for key in link_keys
            for source, targets in self.links.get(key, {}).items()
            if target_id in targets
        )

    def link(self, link_key: str, source_id: str, target_id: str) -> bool:
        """Add ``target_id`` to the link list; False if it was already there."""
        targets = self.links.setdefault(link_key, {}).setdefault(source_id, [])
        if target_id in targets:
            return False
        targets.append(target_id)
        return True

    def unlink(self, link_key: str, source_id: str, target_id: str) -> bool:
        targets = self.links.get(link_key, {}).get(source_id)
        if not targets or target_id not in targets:
            return False
        targets.remove(target_id)
        return True

    def links_of(self, set_key: str, object_id: str) -> dict[str, list[str]]:
        """Every outgoing link list of one object, by navigation name."""
        prefix = set_key + "/"
        return {
            key[len(prefix) :]: list(by_source[object_id])
            for key, by_source in self.links.items()
            if key.startswith(prefix) and object_id in by_source
        }

    def drop_references(self, object_id: str) -> list[tuple[str, str]]:
        """Remove ``object_id`` from every link list that points at it; returns (link key, source)."""
        dropped: list[tuple[str, str]] = []
        for key, by_source in self.links.items():
            for source_id, targets in by_source.items():
                if object_id in targets:
                    targets.remove(object_id)
                    dropped.append((key, source_id))
        return dropped
