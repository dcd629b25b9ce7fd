"""Save and load a whole fake tenant (``fakegraph serve --state FILE``): gzip-compressed JSON, never pickle.

The file holds every part of the Store: entity sets (in id order, with their id field), singletons, links,
the directory index, the recycle bin, the change log (so delta tokens stay valid across restarts), licences
and the tenant's identity. Writes are atomic: a temporary file in the same folder renamed over the target.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
import threading
import time
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from entrasnap.fakegraph.state import JSON, Change, ChangeLog, DeletedItem, EntitySet, Store

if TYPE_CHECKING:
    from entrasnap.fakegraph.server import FakeGraph

FORMAT = "fakegraph-state"
VERSION = 1
_CHANGE_FIELDS = tuple(f.name for f in fields(Change))


def to_document(store: Store) -> JSON:
    """The Store as plain JSON data (shares the objects with the store: serialize before changing it)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "tenantId": store.tenant_id,
        "domain": store.domain,
        "size": store.size,
        "seed": store.seed,
        "licenses": sorted(store.licenses),
        "sets": {
            key: {"idField": s.id_field, "objects": [s.objects[i] for i in s.ids()]}
            for key, s in store.sets.items()
        },
        "singletons": store.singletons,
        "links": store.links,
        "directory": store.directory,
        "recycle": {
            object_id: {
                "obj": item.obj,
                "setKey": item.set_key,
                "deletedAt": item.deleted_at.isoformat(),
                "links": item.links,
                "incoming": [list(pair) for pair in item.incoming],
            }
            for object_id, item in store.recycle.items()
        },
        "changes": {
            "seq": store.changes.seq,
            "fields": list(_CHANGE_FIELDS),
            "items": [[getattr(c, name) for name in _CHANGE_FIELDS] for c in store.changes.changes],
        },
    }


def from_document(doc: Any) -> Store:
    """A Store from :func:`to_document`'s data; a wrong format or version raises ValueError."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError("not a fakegraph state file (missing or wrong 'format')")
    if doc.get("version") != VERSION:
        raise ValueError(
            f"fakegraph state file has format version {doc.get('version')!r}; this fakegraph reads version "
            f"{VERSION} only (delete the file to generate a new tenant)"
        )
    try:
        store = Store(
            tenant_id=doc["tenantId"],
            domain=doc["domain"],
            size=doc["size"],
            seed=int(doc["seed"]),
            licenses=set(doc["licenses"]),
        )
        for key, data in doc["sets"].items():
            entity_set = store.sets[key] = EntitySet(data["idField"])
            for obj in data["objects"]:
                entity_set.put(obj)
        store.singletons = doc["singletons"]
        store.links = doc["links"]
        store.directory = doc["directory"]
        for object_id, item in doc["recycle"].items():
            store.recycle[object_id] = DeletedItem(
                item["obj"],
                item["setKey"],
                datetime.fromisoformat(item["deletedAt"]),
                item["links"],
                [(str(a), str(b)) for a, b in item["incoming"]],
            )
        names = doc["changes"]["fields"]
        store.changes = ChangeLog(
            [Change(**dict(zip(names, row, strict=True))) for row in doc["changes"]["items"]],
            int(doc["changes"]["seq"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"corrupt fakegraph state file: {exc!r}") from exc
    return store


def dumps(store: Store, compresslevel: int = 3) -> bytes:
    return gzip.compress(orjson.dumps(to_document(store)), compresslevel=compresslevel, mtime=0)


def save(store: Store, path: str | os.PathLike[str]) -> None:
    """Write ``store`` to ``path`` atomically (a temporary file renamed over it)."""
    write_bytes(dumps(store), path)


def write_bytes(data: bytes, path: str | os.PathLike[str]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(temp).replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temp).unlink()
        raise


def load(path: str | os.PathLike[str]) -> Store:
    """The Store saved at ``path``; ValueError if it is not a fakegraph state file of this version."""
    raw = Path(path).read_bytes()
    try:
        text = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a gzip-compressed fakegraph state file") from exc
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a fakegraph state file (invalid JSON)") from exc
    return from_document(doc)


class AutoSaver:
    """Saves a served tenant after changes, at most once per ``interval`` seconds, and on ``close``."""

    def __init__(self, fake: FakeGraph, path: str | os.PathLike[str], interval: float = 1.0) -> None:
        self.fake = fake
        self.path = Path(path)
        self.interval = interval
        self.saves = 0
        self._dirty = False
        self._last = 0.0
        self._timer: threading.Timer | None = None
        self._closed = False
        self._guard = threading.Lock()  # protects _dirty/_timer
        self._writing = threading.Lock()  # one write at a time

    def changed(self) -> None:
        """Called after each successful write request: schedule a save."""
        with self._guard:
            self._dirty = True
            if self._timer is None and not self._closed:
                self._schedule(max(0.0, self._last + self.interval - time.monotonic()))

    def _schedule(self, delay: float) -> None:
        self._timer = threading.Timer(delay, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.flush()
        with self._guard:  # changes made while saving are saved one interval later
            self._timer = None
            if self._dirty and not self._closed:
                self._schedule(self.interval)

    def flush(self) -> None:
        """Save now if anything changed since the last save."""
        with self._writing:
            with self._guard:
                if not self._dirty:
                    return
                self._dirty = False
            self._last = time.monotonic()
            with self.fake.lock:  # a consistent snapshot; compression and the write happen outside
                raw = orjson.dumps(to_document(self.fake.store))
            write_bytes(gzip.compress(raw, compresslevel=3, mtime=0), self.path)
            self.saves += 1

    def close(self) -> None:
        """Cancel a pending timer and write the final state (always)."""
        with self._guard:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._dirty = True
        self.flush()
        with contextlib.suppress(ValueError):
            self.fake.on_change.remove(self.changed)


def attach_autosave(fake: FakeGraph, path: str | os.PathLike[str], interval: float = 1.0) -> AutoSaver:
    """Save ``fake``'s tenant to ``path`` after changes (debounced); call ``close()`` on shutdown."""
    saver = AutoSaver(fake, path, interval)
    fake.on_change.append(saver.changed)
    return saver
