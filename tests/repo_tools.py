"""Test helpers that reach into a repository's files (to damage them, or to compare manifests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from entrasnap.store import LocalBackend, Repository


def stored_at(root: Path, h: str) -> tuple[Path, int, int]:
    """The pack file, offset and length holding object h in the repository at root."""
    location = Repository.open(LocalBackend(root)).locate(h)
    assert location is not None, f"object {h} is not in {root}"
    pack_id, offset, length = location
    return root / "data" / pack_id[:2] / pack_id, offset, length


def overwrite(path: Path, offset: int, data: bytes) -> None:
    """Write data into a pack in place (what a disk fault or an attacker could do)."""
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def damage(root: Path, h: str, data: bytes = b"not zlib at all") -> None:
    """Overwrite the start of object h's stored bytes in its pack."""
    path, offset, length = stored_at(root, h)
    overwrite(path, offset, data[:length])


def manifests(record: dict[str, Any]) -> dict[str, str | None]:
    """Type key -> manifest hash of a snapshot record's JSON (equal hashes: identical objects)."""
    return {key: (info.get("manifest") or [None])[0] for key, info in record["types"].items()}


def pack_keys(root: Path) -> set[str]:
    """The pack files in a repository directory."""
    return {p.relative_to(root).as_posix() for p in (root / "data").rglob("*") if p.is_file()}


def contents(root: Path, record: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Type key -> [(object id, record hash)] of a snapshot: comparable across repositories."""
    repository = Repository.open(LocalBackend(root))
    found = repository.find(str(record["id"]))
    return {key: list(repository.entries(found, key)) for key in sorted(found.types)}
