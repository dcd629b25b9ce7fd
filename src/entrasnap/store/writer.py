"""Writing one snapshot: object records as they arrive, manifest chunks per type, the record last."""

from __future__ import annotations

import heapq
import uuid
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import entrasnap
from entrasnap.store.bases import CHUNK_SHARE, LINE, MANIFEST_SHARE, RECORD_SHARE, ParentVersions
from entrasnap.store.canonical import HASH_RE, canonical_bytes, digest
from entrasnap.store.errors import StoreError
from entrasnap.store.lock import NamedLock
from entrasnap.store.manifest import cut
from entrasnap.store.pack import Location, location_json
from entrasnap.store.record import (
    RECORD_FORMAT,
    SNAPSHOT_STATUSES,
    TYPE_STATUSES,
    SnapshotRecord,
    format_time,
    parse_time,
    record_key,
)
from entrasnap.store.repository import WriteStats

if TYPE_CHECKING:
    from entrasnap.store.repository import Repository
    from entrasnap.store.signing import Signer

META_KEYS = frozenset({"tenant", "graph", "entrasnap", "parent", "started"})
HASH_BYTES = 32
NAME_MARK = b"\x01"


class SnapshotWriter:
    """Collects one snapshot. Nothing is visible as a snapshot until ``commit`` writes the record.

    ``parent`` defaults to the latest snapshot of the same tenant id in the repository (or null).
    An object id added twice to a type keeps the last record added.
    """

    def __init__(self, repo: Repository, meta: dict[str, Any], signer: Signer | None = None) -> None:
        unknown = set(meta) - META_KEYS
        if unknown:
            raise ValueError(f"unknown snapshot metadata {sorted(unknown)}; expected {sorted(META_KEYS)}")
        self.repo = repo
        repo.learn_locations = False  # writing reads the index; locations from manifests would duplicate it
        self.signer = signer if signer is not None else repo.signer  # signs the record (store/signing.py)
        self.id = uuid.uuid4().hex
        started = meta.get("started")
        self.started = parse_time(started) if isinstance(started, str) else datetime.now(UTC)
        extra = dict(meta.get("tenant") or {})
        tenant = {"id": extra.pop("id", None), "domain": extra.pop("domain", None), **extra}
        self.meta: dict[str, Any] = {
            "tenant": tenant,
            "graph": meta.get("graph"),
            "entrasnap": meta.get("entrasnap", entrasnap.__version__),
            "parent": meta["parent"] if "parent" in meta else self._latest_of_tenant(tenant["id"]),
        }
        self._stats = WriteStats()
        self._versions = ParentVersions(repo, self.meta["parent"])
        """Previous versions (the parent's) of what this snapshot stores: new ones are deltas of them."""
        self._pending: dict[str, PendingEntries] = {}
        self._types: dict[str, dict[str, Any]] = {}
        self.record: SnapshotRecord | None = None

    @property
    def bytes_written(self) -> int:
        return self._stats.bytes_written

    @property
    def objects_written(self) -> int:
        return self._stats.objects_written

    @property
    def objects_reused(self) -> int:
        return self._stats.objects_reused

    def _latest_of_tenant(self, tenant_id: Any) -> str | None:
        same = [r for r in self.repo.snapshots() if r.tenant.get("id") == tenant_id]
        return same[-1].id if same else None

    def add(self, type_key: str, object_id: str, record: dict[str, Any], name: str | None = None) -> None:
        """Store one object record now ({"id", "object", "children"?}) and remember (id, hash, name)."""
        self._check_open(type_key)
        if record.get("id") != object_id:
            raise ValueError(f"record id {record.get('id')!r} differs from object id {object_id!r}")
        hash_hex = self.repo.put_counted(
            record,
            self._stats,
            self.repo.stats,
            base=lambda: self._versions.record(type_key, object_id),
            share=RECORD_SHARE,
        )
        self._pending.setdefault(type_key, PendingEntries()).put(object_id, hash_hex, name)

    def add_existing(
        self, type_key: str, object_id: str, record_hash: str, name: str | None = None, *, check: bool = True
    ) -> None:
        """Keep an object record already in the repository (e.g. unchanged since the last snapshot).

        Nothing is re-encoded or re-written; with ``check`` the object must be known to the repository
        (a location from a manifest read earlier, or the index; a missing one raises StoreError).
        Counted in ``objects_reused``; a later ``add`` of the same id replaces it.
        """
        self._check_open(type_key)
        if not HASH_RE.match(record_hash):
            raise ValueError(f"not an object hash: {record_hash!r}")
        if check and self.repo.locate(record_hash) is None:
            raise StoreError(
                f"object {record_hash} ({type_key} {object_id}) is missing from repository {self.repo.backend}"
            )
        self._stats.objects_reused += 1
        self._pending.setdefault(type_key, PendingEntries()).put(object_id, record_hash, name)

    def finish_type(
        self,
        type_key: str,
        status: str,
        *,
        error: dict[str, Any] | None = None,
        children: dict[str, Any] | None = None,
        requests: int = 0,
        scope: str | None = None,
        delta: dict[str, Any] | None = None,
    ) -> None:
        """Close a type: sort its entries, write its manifest chunks, note its status.

        ``scope`` names a filter that left objects out on purpose (``cloudOnly``): such a type is complete
        for that scope only, and readers must not compare it with an unfiltered one. ``delta`` holds
        what an incremental read needs next time (the type's delta link, when it was last read in full).
        """
        self._check_open(type_key)
        if status not in TYPE_STATUSES:
            raise ValueError(f"type status {status!r} is not one of {TYPE_STATUSES}")
        pending = self._pending.pop(type_key, PendingEntries())
        entries = (  # made chunk by chunk: a type's whole entry list is never held at once
            _entry(object_id, hash_hex, name, self.repo.locate_current(hash_hex))
            for object_id, hash_hex, name in pending.drain()
        )
        info: dict[str, Any] = {"status": status, "count": 0, "requests": requests}
        versions = self._versions
        chunks = []
        for c in cut(entries):  # counted as they pass (counting the pending entries first decodes them all)
            info["count"] += len(c)
            chunks.append(
                self.repo.put_located(
                    {"entries": c},
                    self._stats,
                    self.repo.stats,
                    base=partial(versions.chunk, type_key, c[0][0]),
                    share=CHUNK_SHARE,
                    line=LINE,
                )
            )
        if chunks:
            manifest = {"chunks": [[h, location_json(at)] for h, at in chunks]}
            manifest_hash, at = self.repo.put_located(
                manifest,
                self._stats,
                self.repo.stats,
                base=partial(versions.manifest, type_key),
                share=MANIFEST_SHARE,
                line=LINE,
            )
            info["manifest"] = [manifest_hash, location_json(at)]
        self._versions.drop(type_key)
        if children is not None:
            info["children"] = children
        if error is not None:
            info["error"] = error
        if scope is not None:
            info["scope"] = scope
        if delta is not None:
            info["delta"] = delta
        self._types[type_key] = info

    def commit(self, status: str, stats: dict[str, Any], finished: str | None = None) -> SnapshotRecord:
        """Write the snapshot record (last, write-once); the snapshot exists from this moment.

        Under the repository's commit lock, the record is chained to the newest record: it carries
        that record's ``sequence`` + 1 and the sha256 of its bytes as ``previous``.
        """
        if self.record is not None:
            raise ValueError(f"snapshot {self.id} is already committed")
        if status not in SNAPSHOT_STATUSES:
            raise ValueError(f"snapshot status {status!r} is not one of {SNAPSHOT_STATUSES}")
        if self._pending:
            raise ValueError(f"types added but not finished: {sorted(self._pending)}")
        end = parse_time(finished) if finished is not None else datetime.now(UTC)
        self.repo.flush()
        with NamedLock(self.repo.backend, "commit"):
            sequence, previous = self.repo.chain_head()
            data: dict[str, Any] = {
                "format": RECORD_FORMAT,
                "id": self.id,
                **self.meta,
                "started": format_time(self.started),
                "finished": format_time(end),
                "status": status,
                "types": self._types,
                "stats": stats,
                "sequence": sequence + 1,
                "previous": previous,
            }
            if self.signer is not None:
                data["signature"] = self.signer(canonical_bytes(data))
            body = self.repo.codec.seal_record(canonical_bytes(data))
            key = record_key(self.started, self.id)
            if not self.repo.backend.create(key, body):
                raise StoreError(f"snapshot record {key} already exists in {self.repo.backend}")
        self._stats.bytes_written += len(body)
        self.repo.stats.bytes_written += len(body)
        self.record = SnapshotRecord(key=key, data=data, hash=digest(body))
        return self.record

    def _check_open(self, type_key: str) -> None:
        if self.record is not None:
            raise ValueError(f"snapshot {self.id} is already committed")
        if type_key in self._types:
            raise ValueError(f"type {type_key!r} is already finished in snapshot {self.id}")


class PendingEntries:
    """A type's (object id -> record hash, name) until the type is finished, held compactly.

    Entries put in increasing id order (what an incremental read keeps comes in the previous snapshot's
    id order) are appended to one bytearray: the id, the hash's 32 bytes and the name in UTF-8, each
    length-prefixed, about 105 bytes an entry. Others go to a dict of one bytes value per id (the hash,
    then the name after a marker byte; none for a null name), about 190 bytes an entry with its id
    string; an L tenant's 200,000 users wait here until the last user page is read.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, bytes] = {}
        self._log = bytearray()
        self._offsets = array("L")
        self._last: str | None = None

    def __len__(self) -> int:
        by_id = self._by_id
        both = sum(1 for at in self._offsets if self._logged_at(at)[0] in by_id) if by_id else 0
        return len(self._offsets) + len(by_id) - both

    def put(self, object_id: str, hash_hex: str, name: str | None) -> None:
        """Note an entry (hash: 64 lowercase hex digits); a later put of the same id replaces it."""
        value = bytes.fromhex(hash_hex)
        if name is not None:
            value += NAME_MARK + name.encode("utf-8", "surrogatepass")
        if self._last is None or object_id > self._last:
            encoded = object_id.encode("utf-8", "surrogatepass")
            self._offsets.append(len(self._log))
            self._log += b"".join(
                (len(encoded).to_bytes(4, "big"), encoded, len(value).to_bytes(4, "big"), value)
            )
            self._last = object_id
        else:
            self._by_id[object_id] = value

    def _logged_at(self, at: int) -> tuple[str, bytes]:
        """The log's entry at byte ``at``: (id, value)."""
        log = self._log
        size = int.from_bytes(log[at : at + 4], "big")
        object_id = log[at + 4 : at + 4 + size].decode("utf-8", "surrogatepass")
        at += 4 + size
        return object_id, bytes(log[at + 4 : at + 4 + int.from_bytes(log[at : at + 4], "big")])

    def drain(self) -> Iterator[tuple[str, str, str | None]]:
        """(object id, hash, name) in id order, each entry let go once yielded (the log at the end)."""
        by_id = self._by_id
        logged = (self._logged_at(at) for at in self._offsets)
        merged = heapq.merge(logged, ((object_id, b"") for object_id in sorted(by_id))) if by_id else logged
        previous = None
        for object_id, value in merged:
            if object_id == previous:
                continue  # in the log and put again: the dict's entry (merged first) is the later put
            previous = object_id
            stored = value or by_id.pop(object_id)
            yield object_id, stored[:HASH_BYTES].hex(), _name(stored)
        self._log, self._offsets, self._last = bytearray(), array("L"), None


def _name(value: bytes) -> str | None:
    return value[HASH_BYTES + 1 :].decode("utf-8", "surrogatepass") if len(value) > HASH_BYTES else None


def _entry(object_id: str, hash_hex: str, name: str | None, location: Location | None) -> tuple[Any, ...]:
    """A manifest entry: [id, hash, name, location]; the location is left out when not known."""
    if location is None:
        return (object_id, hash_hex, name)
    return (object_id, hash_hex, name, location_json(location))
