"""Where repository bytes live: a key-value contract with write-once creation, and its local-disk form."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from entrasnap.store.errors import NotFoundError, RepositoryNotFoundError, StoreError, TruncatedError

TEMP_PREFIX = ".tmp-"
# errno values meaning "this filesystem cannot make hard links": fall back to rename.
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK}


class Backend(Protocol):
    """Keys are "/"-separated strings such as "objects/ab/abcd...". The same contract serves Azure Blob."""

    def exists(self, key: str) -> bool: ...

    def create(self, key: str, data: bytes) -> bool:
        """Store data under key unless the key exists; False when it existed. Never overwrites."""
        ...

    def read(self, key: str) -> bytes:
        """The bytes under key; NotFoundError when absent."""
        ...

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes of key from ``offset``; NotFoundError when absent, StoreError when short."""
        ...

    def read_ranges(self, key: str, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """read_range for several (offset, length) pairs of one key (one open where that helps)."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Keys starting with prefix, sorted; never temporary files."""
        ...

    def list_sizes(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(key, size in bytes) for the keys starting with prefix, sorted by key."""
        ...

    def delete(self, key: str) -> None:
        """Remove key; absent keys are fine."""
        ...


class LocalBackend:
    """A repository in a local directory.

    ``create`` writes a temporary file in the target directory, fsyncs it, publishes it with
    ``os.link`` (which fails instead of overwriting), so a key is either absent or complete, even
    after a crash. Where hard links are unsupported it falls back to ``os.rename`` after checking the
    name is free. Directory entries are fsynced at once, except under ``objects/``: those directories
    are fsynced together just before any ``snapshots/`` key is created, so every object a snapshot
    record names is durable before the record is (one fsync per object directory, not per object).
    """

    remote = False
    """Reads are cheap local file reads (no need to fetch whole packs)."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self._root_text = str(self.root) + os.sep
        self.fsync = fsync
        self._dirs: set[Path] = set()

    def __str__(self) -> str:
        return str(self.root)

    @staticmethod
    def _check_key(key: str) -> None:
        if key and "." not in key and "//" not in key and key[0] != "/" and key[-1] != "/":
            return  # the common case (pack and index keys), without splitting
        if not key or any(p in ("", ".", "..") for p in key.split("/")):
            raise ValueError(f"invalid repository key {key!r}")

    def _path(self, key: str) -> Path:
        self._check_key(key)
        return self.root.joinpath(*key.split("/"))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def create(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        if path.exists():
            return False
        self._ensure_dir(path.parent)
        if key.startswith("snapshots/") and self.fsync:
            self._sync_objects()
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        except OSError as exc:
            raise _write_error(path.parent, exc) from exc
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            created = self._publish(tmp, path)
        except OSError as exc:
            raise _write_error(path, exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        if created and self.fsync and not key.startswith("objects/"):
            _fsync_dir(path.parent)
        return created

    def _sync_objects(self) -> None:
        objects = self.root / "objects"
        if not objects.is_dir():
            return
        for entry in sorted(objects.iterdir()):
            if entry.is_dir():
                _fsync_dir(entry)
        _fsync_dir(objects)

    def _publish(self, tmp: Path, path: Path) -> bool:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            # No hard links here: rename is atomic but may replace, so check first (a narrow race).
            if path.exists():
                return False
            os.rename(tmp, path)
        return True

    def _ensure_dir(self, directory: Path) -> None:
        if directory in self._dirs:
            return
        missing: list[Path] = []
        probe = directory
        while not probe.is_dir():
            missing.append(probe)
            if probe.parent == probe:
                break
            probe = probe.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(directory, exc) from exc
        if self.fsync:
            for made in reversed(missing):
                _fsync_dir(made.parent)
        self._dirs.add(directory)

    def _open(self, key: str) -> tuple[int, str]:
        """A read-only descriptor for key and its path, with the store's errors for a missing or
        unreadable file. Reads are the hot path of time travel: a plain string path and os calls skip
        pathlib's cost."""
        self._check_key(key)
        path = self._root_text + key
        try:
            return os.open(path, os.O_RDONLY), path
        except (FileNotFoundError, NotADirectoryError) as exc:
            if not self.root.is_dir():
                raise RepositoryNotFoundError(key, f"repository path {self.root} does not exist") from exc
            raise NotFoundError(key, f"{key} is missing from repository {self.root}") from exc
        except PermissionError as exc:
            raise StoreError(f"cannot read {path}: permission denied") from exc

    def read(self, key: str) -> bytes:
        fd, path = self._open(key)
        try:
            parts = []
            while chunk := os.read(fd, 1 << 20):
                parts.append(chunk)
        except IsADirectoryError as exc:
            raise StoreError(f"cannot read {path}: it is a directory") from exc
        finally:
            os.close(fd)
        return b"".join(parts)

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        return self.read_ranges(key, ((offset, length),))[0]

    def read_ranges(self, key: str, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        fd, _ = self._open(key)
        try:
            parts = [os.pread(fd, length, offset) for offset, length in ranges]
        finally:
            os.close(fd)
        if any(len(data) != length for data, (_, length) in zip(parts, ranges, strict=True)):
            raise TruncatedError(f"{key} in repository {self.root} is shorter than expected (truncated?)")
        return parts

    def list_sizes(self, prefix: str) -> Iterator[tuple[str, int]]:
        for key in self.list(prefix):
            try:
                yield key, os.stat(self._root_text + key).st_size
            except FileNotFoundError:
                continue  # deleted while listing

    def list(self, prefix: str) -> Iterator[str]:
        # Walk from the deepest directory the prefix names completely.
        base_parts = prefix.split("/")[:-1]
        base = self.root.joinpath(*base_parts)
        if not base.is_dir():
            return iter(())
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel = Path(dirpath).relative_to(self.root).as_posix()
            stem = "" if rel == "." else rel + "/"
            keys.extend(
                stem + name
                for name in filenames
                if not name.startswith(TEMP_PREFIX) and (stem + name).startswith(prefix)
            )
        keys.sort()
        return iter(keys)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise _write_error(path, exc) from exc


def _fsync_dir(directory: Path) -> None:
    """Make a directory entry durable (not possible on every platform: skipped where refused)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _write_error(path: Path, exc: OSError) -> StoreError:
    if isinstance(exc, PermissionError):
        return StoreError(f"cannot write to {path}: permission denied")
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        return StoreError(f"cannot create {path}: a parent of it is a file, not a directory")
    if exc.errno == errno.ENOSPC:
        return StoreError(f"cannot write to {path}: no space left on device")
    return StoreError(f"cannot write to {path}: {exc.strerror or exc}")
