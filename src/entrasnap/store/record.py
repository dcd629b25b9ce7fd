"""The snapshot record: the small file, written last, that makes a snapshot exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

RECORD_FORMAT = 2
SNAPSHOT_STATUSES = ("complete", "partial", "failed")
TYPE_STATUSES = ("ok", "forbidden", "unlicensed", "unavailable", "error")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """UTC with microseconds and a Z, e.g. 2026-11-27T09:30:00.000000Z (sorts as text)."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """An ISO 8601 date-time; naive values are taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def record_key(started: datetime, snapshot_id: str) -> str:
    return f"snapshots/{started.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{snapshot_id}.json"


HEAD_OMITS = ("types", "stats")
"""The bulky fields of a record; the rest (its "head") is enough to list and choose snapshots."""


class SnapshotRecord:
    """A snapshot record as stored (``data``) plus the key it is stored under.

    A record listed from a cache holds only its head (id, tenant, times, status, chain fields); its
    full ``data`` is read on first use through ``loader``.
    """

    __slots__ = ("_data", "_head", "_loader", "hash", "key")

    def __init__(
        self,
        key: str,
        data: dict[str, Any] | None = None,
        hash: str = "",
        *,
        head: dict[str, Any] | None = None,
        loader: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        if data is None and (head is None or loader is None):
            raise ValueError("a snapshot record needs its data, or its head and a loader")
        self.key = key
        self.hash = hash
        """sha256 of the record's stored bytes (what the next record's ``previous`` names)."""
        self._data = data
        self._head = (
            head if head is not None else {k: v for k, v in (data or {}).items() if k not in HEAD_OMITS}
        )
        self._loader = loader

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            assert self._loader is not None
            self._data = self._loader()
        return self._data

    @property
    def head(self) -> dict[str, Any]:
        """Every field but the bulky ones (``types``, ``stats``)."""
        return self._head

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SnapshotRecord) and (self.key, self.hash, self.data) == (
            other.key,
            other.hash,
            other.data,
        )

    def __hash__(self) -> int:
        return hash((self.key, self.hash))

    def __repr__(self) -> str:
        return f"SnapshotRecord(key={self.key!r}, hash={self.hash!r})"

    @property
    def id(self) -> str:
        return str(self._head["id"])

    @property
    def started(self) -> datetime:
        return parse_time(self._head["started"])

    @property
    def finished(self) -> datetime:
        return parse_time(self._head["finished"])

    @property
    def status(self) -> str:
        return str(self._head["status"])

    @property
    def parent(self) -> str | None:
        parent = self._head.get("parent")
        return None if parent is None else str(parent)

    @property
    def sequence(self) -> int:
        value = self._head.get("sequence")
        return value if isinstance(value, int) else 0

    @property
    def previous(self) -> str | None:
        value = self._head.get("previous")
        return value if isinstance(value, str) else None

    @property
    def tenant(self) -> dict[str, Any]:
        tenant: dict[str, Any] = self._head.get("tenant") or {}
        return tenant

    @property
    def types(self) -> dict[str, dict[str, Any]]:
        types: dict[str, dict[str, Any]] = self.data["types"]
        return types

    def manifest(self, type_key: str) -> str | None:
        """The hash of a type's manifest (equal hashes: identical lists of objects); None when empty."""
        manifest = self.types.get(type_key, {}).get("manifest")
        return str(manifest[0]) if isinstance(manifest, list) and manifest else None
