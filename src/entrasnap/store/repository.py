"""The repository: content-addressed write-once objects plus snapshot records (docs/FORMAT.md)."""

from __future__ import annotations

import json
import re
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from entrasnap.store.backend import Backend
from entrasnap.store.canonical import HASH_RE, canonical_bytes, compress, decompress, digest, object_key
from entrasnap.store.errors import NotFoundError, RepositoryNotFoundError, StoreError
from entrasnap.store.record import RECORD_FORMAT, SnapshotRecord, format_time, parse_time

if TYPE_CHECKING:
    from entrasnap.store.writer import SnapshotWriter

CONFIG_KEY = "config.json"
FORMAT_NAME = "entrasnap-repository"
FORMAT_VERSION = 1
MIN_PREFIX = 6
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_HEX_RE = re.compile(r"^[0-9a-f]+$")
_RECORD_NAME_RE = re.compile(r"^snapshots/\d{8}T\d{6}Z-([0-9a-f]{32})\.json$")


@dataclass
class WriteStats:
    """What put() did: bytes stored, objects newly written, objects already present."""

    bytes_written: int = 0
    objects_written: int = 0
    objects_reused: int = 0


class Repository:
    """Open with ``Repository.open(LocalBackend(path))``; create with ``init`` or ``open(create=True)``."""

    def __init__(self, backend: Backend, config: dict[str, Any]) -> None:
        self.backend = backend
        self.config = config
        self.stats = WriteStats()
        self._known: set[str] = set()

    @property
    def id(self) -> str:
        return str(self.config["id"])

    @classmethod
    def init(cls, backend: Backend) -> Repository:
        """Create a new repository; fails if the location already holds one."""
        config = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "id": str(uuid.uuid4()),
            "created": format_time(datetime.now(UTC)),
            "hash": "sha256",
            "compression": "zlib",
        }
        if not backend.create(CONFIG_KEY, canonical_bytes(config)):
            raise StoreError(f"{backend} already holds an entrasnap repository (config.json exists)")
        return cls(backend, config)

    @classmethod
    def open(cls, backend: Backend, *, create: bool = False) -> Repository:
        """Open an existing repository (or create one if ``create``); refuses newer formats."""
        try:
            raw = backend.read(CONFIG_KEY)
        except RepositoryNotFoundError:
            if create:
                return cls.init(backend)
            raise
        except NotFoundError as exc:
            if create:
                return cls.init(backend)
            raise StoreError(f"{backend} is not an entrasnap repository (no config.json)") from exc
        return cls(backend, _check_config(raw, str(backend)))

    # objects

    def put(self, value: Any) -> str:
        """Store a JSON value as an object unless present; returns its hash."""
        return self.put_counted(value, self.stats)

    def put_counted(self, value: Any, *counters: WriteStats) -> str:
        """put(), adding what was written or reused to each of ``counters``."""
        data = canonical_bytes(value)
        hash_hex = digest(data)
        key = object_key(hash_hex)
        if hash_hex in self._known or self.backend.exists(key):
            written = 0
        else:
            stored = compress(data)
            written = len(stored) if self.backend.create(key, stored) else 0
        self._known.add(hash_hex)
        for stats in counters:
            stats.bytes_written += written
            stats.objects_written += 1 if written else 0
            stats.objects_reused += 0 if written else 1
        return hash_hex

    def get(self, hash_hex: str) -> Any:
        """The JSON value stored under a hash, after checking the content still has that hash."""
        if not HASH_RE.match(hash_hex):
            raise StoreError(f"not an object hash: {hash_hex!r}")
        key = object_key(hash_hex)
        try:
            stored = self.backend.read(key)
        except NotFoundError as exc:
            raise StoreError(f"object {hash_hex} is missing from repository {self.backend}") from exc
        try:
            data = decompress(stored)
        except zlib.error as exc:
            raise StoreError(f"object {hash_hex} is damaged (cannot decompress {key})") from exc
        if digest(data) != hash_hex:
            raise StoreError(f"object {hash_hex} is damaged (content does not match its hash, {key})")
        return orjson.loads(data)  # the same values as json.loads, several times faster

    # snapshots

    def writer(self, meta: dict[str, Any]) -> SnapshotWriter:
        """Start a snapshot. meta: tenant, graph, entrasnap, parent, started (all optional)."""
        from entrasnap.store.writer import SnapshotWriter

        return SnapshotWriter(self, meta)

    def snapshots(self) -> list[SnapshotRecord]:
        """Every committed snapshot, oldest first (by start time, then id)."""
        records = [self._read_record(key) for key in self.backend.list("snapshots/")]
        return sorted(records, key=lambda r: (r.started, r.id))

    def _read_record(self, key: str) -> SnapshotRecord:
        match = _RECORD_NAME_RE.match(key)
        if not match:
            raise StoreError(f"snapshot record {key} in {self.backend} has an unexpected name")
        try:
            data = orjson.loads(self.backend.read(key))
        except orjson.JSONDecodeError as exc:
            raise StoreError(f"snapshot record {key} in {self.backend} is damaged (not JSON)") from exc
        if not isinstance(data, dict):
            raise StoreError(f"snapshot record {key} in {self.backend} is damaged (not an object)")
        version = data.get("format")
        if isinstance(version, int) and version > RECORD_FORMAT:
            raise StoreError(
                f"snapshot record {key} has format version {version}; this entrasnap reads up to "
                f"{RECORD_FORMAT} — upgrade entrasnap"
            )
        try:
            started_ok = isinstance(data["started"], str) and parse_time(data["started"]) is not None
            valid = version == RECORD_FORMAT and data["id"] == match.group(1) and started_ok
            valid = valid and isinstance(data["types"], dict)
        except (KeyError, ValueError) as exc:
            raise StoreError(f"snapshot record {key} in {self.backend} is damaged ({exc})") from exc
        if not valid:
            raise StoreError(f"snapshot record {key} in {self.backend} is damaged (fields do not match)")
        return SnapshotRecord(key=key, data=data)

    def find(self, ref: str) -> SnapshotRecord:
        """A snapshot by id, unique id prefix (6+ chars), "latest", "previous", or ISO date/date-time.

        A date means the end of that day (UTC); a date or date-time selects the last snapshot that
        started at or before it.
        """
        ref = ref.strip()
        records = self.snapshots()
        if not records:
            raise StoreError(f"repository {self.backend} has no snapshots")
        if ref == "latest":
            return records[-1]
        if ref == "previous":
            if len(records) < 2:
                raise StoreError("there is no previous snapshot: the repository holds only one")
            return records[-2]
        if _DATE_RE.match(ref) or _DATETIME_RE.match(ref):
            return _at_or_before(records, ref)
        return _by_id(records, ref.lower())

    def entries(self, record: SnapshotRecord, type_key: str) -> Iterator[tuple[str, str]]:
        """(object id, record hash) of a type in a snapshot, in id order, read chunk by chunk."""
        for object_id, record_hash, _ in self.named_entries(record, type_key):
            yield object_id, record_hash

    def named_entries(self, record: SnapshotRecord, type_key: str) -> Iterator[tuple[str, str, str | None]]:
        """(object id, record hash, display name or None) of a type in a snapshot, in id order."""
        for chunk_hash in _type_info(record, type_key).get("chunks", []):
            for entry in self.get(chunk_hash)["entries"]:
                name = entry[2] if len(entry) > 2 else None
                yield str(entry[0]), str(entry[1]), None if name is None else str(name)

    def records(self, record: SnapshotRecord, type_key: str) -> Iterator[dict[str, Any]]:
        """The object records ({"id", "object", "children"?}) of a type in a snapshot, in id order."""
        for _, record_hash in self.entries(record, type_key):
            value: dict[str, Any] = self.get(record_hash)
            yield value


def _check_config(raw: bytes, location: str) -> dict[str, Any]:
    try:
        config = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{location}/config.json is damaged (not JSON)") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise StoreError(f"{location} is not an entrasnap repository (config.json has another format)")
    version = config.get("version")
    if not isinstance(version, int):
        raise StoreError(f"{location}/config.json is damaged (no version)")
    if version > FORMAT_VERSION:
        raise StoreError(
            f"this repository has format version {version}; this entrasnap reads up to "
            f"{FORMAT_VERSION} — upgrade entrasnap"
        )
    if config.get("hash") != "sha256" or config.get("compression") != "zlib":
        raise StoreError(f"{location}/config.json names an unsupported hash or compression")
    return config


def _type_info(record: SnapshotRecord, type_key: str) -> dict[str, Any]:
    try:
        return record.types[type_key]
    except KeyError:
        raise StoreError(f"snapshot {record.id} holds no type {type_key!r}") from None


def _at_or_before(records: list[SnapshotRecord], ref: str) -> SnapshotRecord:
    try:
        if _DATE_RE.match(ref):
            limit = parse_time(ref) + timedelta(days=1)  # exclusive end of that UTC day
            chosen = [r for r in records if r.started < limit]
        else:
            limit = parse_time(ref)
            chosen = [r for r in records if r.started <= limit]
    except ValueError as exc:
        raise StoreError(f"not a valid date or date-time: {ref!r}") from exc
    if not chosen:
        raise StoreError(
            f"no snapshot at or before {ref}: the first snapshot started at {records[0].data['started']}"
        )
    return chosen[-1]


def _by_id(records: list[SnapshotRecord], ref: str) -> SnapshotRecord:
    if not _HEX_RE.match(ref):
        raise StoreError(
            f"not a snapshot reference: {ref!r} (use an id or id prefix, latest, previous, or a date)"
        )
    exact = [r for r in records if r.id == ref]
    if exact:
        return exact[0]
    if len(ref) < MIN_PREFIX:
        raise StoreError(f"snapshot id prefix {ref!r} is too short: give at least {MIN_PREFIX} characters")
    matches = [r for r in records if r.id.startswith(ref)]
    if not matches:
        raise StoreError(f"no snapshot id starts with {ref!r}")
    if len(matches) > 1:
        listed = ", ".join(f"{r.id} ({r.data['started']})" for r in matches)
        raise StoreError(f"snapshot id prefix {ref!r} is ambiguous: {listed}")
    return matches[0]
