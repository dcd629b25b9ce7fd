"""A local cache of snapshot record heads, so listing a year of snapshots reads one small file.

Records never change once written, so a record's head (id, tenant, times, status, chain fields) can be
kept beside its hash. Choosing a snapshot (``latest``, a date) then needs no record read; the chosen
record's full content is read on first use and must still have the cached hash (otherwise the
repository changed under the cache: ``StoreError``, run ``entrasnap check``). The cache is a plain JSON
file under a directory the caller chooses; it is never written for encrypted repositories (it would put
decrypted metadata on disk).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

CACHE_VERSION = 1


class RecordCache:
    """Heads of the records of one repository, stored as ``<dir>/<repository id>.records.json``."""

    def __init__(self, directory: Path, repository_id: str) -> None:
        self.path = Path(directory) / f"{repository_id}.records.json"
        self._entries: dict[str, tuple[str, dict[str, Any]]] = {}
        self._dirty = False
        try:
            body = orjson.loads(self.path.read_bytes())
            if isinstance(body, dict) and body.get("version") == CACHE_VERSION:
                self._entries = {
                    str(key): (str(value[0]), dict(value[1])) for key, value in body["records"].items()
                }
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
            self._entries = {}  # absent or unreadable: start afresh (it is only a cache)

    def get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """(hash, head) of a record, if cached."""
        return self._entries.get(key)

    def put(self, key: str, hash_hex: str, head: dict[str, Any]) -> None:
        self._entries[key] = (hash_hex, head)
        self._dirty = True

    def keep_only(self, keys: set[str]) -> None:
        """Forget records no longer in the repository (forgotten snapshots)."""
        gone = set(self._entries) - keys
        for key in gone:
            del self._entries[key]
        self._dirty = self._dirty or bool(gone)

    def save(self) -> None:
        """Write the cache if it changed; a cache that cannot be written is simply not kept."""
        if not self._dirty:
            return
        body = orjson.dumps(
            {"version": CACHE_VERSION, "records": {k: [h, head] for k, (h, head) in self._entries.items()}}
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            return
