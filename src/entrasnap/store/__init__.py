"""The repository: content-addressed, write-once storage of snapshots (format in docs/FORMAT.md)."""

from entrasnap.store.backend import Backend, LocalBackend
from entrasnap.store.canonical import canonical_bytes, digest
from entrasnap.store.errors import NotFoundError, RepositoryNotFoundError, StoreError
from entrasnap.store.record import SnapshotRecord
from entrasnap.store.repository import Repository, WriteStats
from entrasnap.store.writer import SnapshotWriter

__all__ = [
    "Backend",
    "LocalBackend",
    "NotFoundError",
    "Repository",
    "RepositoryNotFoundError",
    "SnapshotRecord",
    "SnapshotWriter",
    "StoreError",
    "WriteStats",
    "canonical_bytes",
    "digest",
]
