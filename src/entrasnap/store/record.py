"""The snapshot record: the small file, written last, that makes a snapshot exist."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class SnapshotRecord:
    """A snapshot record as stored (``data``) plus the key it is stored under."""

    key: str
    data: dict[str, Any]
    hash: str = ""
    """sha256 of the record's stored bytes (what the next record's ``previous`` names)."""

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def started(self) -> datetime:
        return parse_time(self.data["started"])

    @property
    def finished(self) -> datetime:
        return parse_time(self.data["finished"])

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @property
    def parent(self) -> str | None:
        parent = self.data.get("parent")
        return None if parent is None else str(parent)

    @property
    def sequence(self) -> int:
        value = self.data.get("sequence")
        return value if isinstance(value, int) else 0

    @property
    def previous(self) -> str | None:
        value = self.data.get("previous")
        return value if isinstance(value, str) else None

    @property
    def tenant(self) -> dict[str, Any]:
        tenant: dict[str, Any] = self.data.get("tenant") or {}
        return tenant

    @property
    def types(self) -> dict[str, dict[str, Any]]:
        types: dict[str, dict[str, Any]] = self.data["types"]
        return types

    def manifest(self, type_key: str) -> str | None:
        """The hash of a type's manifest (equal hashes: identical lists of objects); None when empty."""
        manifest = self.types.get(type_key, {}).get("manifest")
        return str(manifest[0]) if isinstance(manifest, list) and manifest else None
