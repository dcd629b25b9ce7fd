"""Export a snapshot as a plain folder of JSON files any tool can read.

Layout: ``<dir>/manifest.json`` (tenant, time, per-type status, counts and errors) and, per type,
``<dir>/<type>/<object id>.json`` holding exactly what Graph returned for the object, with each child
collection beside it as ``<object id>.<child>.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from entrasnap.store import Repository, SnapshotRecord

SAFE = "-_.@ ()+,;=!~'"


def file_name(object_id: str) -> str:
    """An object id as a file name on every platform (percent-encoding anything unsafe)."""
    name = quote(object_id, safe=SAFE)
    return "%2E" + name[1:] if name.startswith(".") else name


def _write(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


@dataclass
class ExportSummary:
    directory: Path
    objects: int
    files: int


def export_snapshot(repository: Repository, record: SnapshotRecord, directory: Path) -> ExportSummary:
    """Write ``record``'s objects under ``directory`` (created; must be empty if it exists)."""
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty; export into a new or empty folder")
    directory.mkdir(parents=True, exist_ok=True)
    objects = files = 0
    manifest_types: dict[str, Any] = {}
    for key, info in sorted(record.types.items()):
        manifest_types[key] = {k: v for k, v in info.items() if k != "manifest"}
        folder = directory / key
        folder.mkdir(exist_ok=True)
        for stored in repository.records(record, key):
            base = file_name(str(stored["id"]))
            _write(folder / f"{base}.json", stored["object"])
            files += 1
            for child, values in sorted((stored.get("children") or {}).items()):
                _write(folder / f"{base}.{child}.json", values)
                files += 1
            objects += 1
    _write(
        directory / "manifest.json",
        {
            "snapshot": record.id,
            "tenant": record.tenant,
            "started": record.data["started"],
            "finished": record.data["finished"],
            "status": record.status,
            "types": manifest_types,
            "layout": "<type>/<object id>.json is the object as Graph returned it; <object id>.<child>.json its "
            "child collection (sorted ids for references, full objects otherwise)",
        },
    )
    return ExportSummary(directory, objects, files + 1)
