"""Repository locks: small create-only files under ``locks/`` (docs/FORMAT.md, "Locks").

``NamedLock``: creating a key that does not exist is atomic on every backend, so whoever creates
``locks/<name>`` holds that lock (``locks/commit``, for the milliseconds of a commit). A lock names its
holder (host, process, time); one left by a crashed process is stale once older than ``stale_after``
and is then removed by the next process that needs it.

``RepositoryLock``: shared (snapshot, copy) and exclusive (forget, prune) locks on the whole
repository, one file per process, refreshed while held, as restic does.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from entrasnap.store.backend import Backend
from entrasnap.store.canonical import canonical_bytes
from entrasnap.store.errors import NotFoundError, StoreError
from entrasnap.store.record import format_time, parse_time

LOCK_PREFIX = "locks/"


def holder() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "created": format_time(datetime.now(UTC))}


class NamedLock:
    """An exclusive lock on one name, e.g. ``commit`` (held for the few milliseconds of a commit)."""

    def __init__(
        self,
        backend: Backend,
        name: str,
        *,
        wait: float = 60.0,
        stale_after: timedelta = timedelta(minutes=10),
    ) -> None:
        self.backend = backend
        self.key = LOCK_PREFIX + name
        self.wait = wait
        self.stale_after = stale_after
        self.held = False

    def __enter__(self) -> NamedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        check_held(self.backend)  # a commit under a lost repository lock must not happen
        deadline = time.monotonic() + self.wait
        delay = 0.05
        while not self.backend.create(self.key, canonical_bytes(holder())):
            try:
                raw = self.backend.read(self.key)
            except NotFoundError:
                continue  # released between our attempt and the read: try again at once
            if self._stale_content(raw):
                self.backend.delete(self.key)
                continue
            if time.monotonic() > deadline:
                raise StoreError(
                    f"repository {self.backend} is locked ({self.key} held by {self._describe()}); "
                    f"if no entrasnap is running there, it is released automatically after {self.stale_after}"
                )
            time.sleep(delay * random.uniform(0.5, 1.0))  # jitter: waiting writers do not wake together
            delay = min(delay * 2, 0.25)  # a commit holds this lock for milliseconds
        self.held = True

    def release(self) -> None:
        if self.held:
            self.backend.delete(self.key)
            self.held = False

    def _info(self) -> dict[str, Any] | None:
        try:
            info = orjson.loads(self.backend.read(self.key))
        except (NotFoundError, orjson.JSONDecodeError):
            return None
        return info if isinstance(info, dict) else None

    def _stale_content(self, raw: bytes) -> bool:
        """A lock whose content is unreadable (creation is atomic, so: damaged) or whose holder is gone."""
        try:
            info = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return True
        return not isinstance(info, dict) or _info_stale(info, self.stale_after)

    def _describe(self) -> str:
        info = self._info() or {}
        return f"process {info.get('pid')} on {info.get('host')} since {info.get('created')}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Repository-wide locks (restic's design): every process writes its own lock file, create-only, and
# refreshes it by writing a new one and deleting the old, so lock files are never rewritten (WORM).

SHARED = "shared"
EXCLUSIVE = "exclusive"
STALE_AFTER = timedelta(minutes=30)
REFRESH_EVERY = timedelta(minutes=5)
_held: dict[int, RepositoryLock] = {}
"""The repository lock this process holds on each backend (by identity), checked at every commit."""


class LockedError(StoreError):
    """A conflicting repository lock is held by another process."""


@dataclass(frozen=True)
class LockFile:
    """One ``locks/<kind>-<uuid>`` file as read from the repository."""

    key: str
    kind: str
    info: dict[str, Any] | None
    """The holder ({"host", "pid", "created", "operation"}); None when unreadable."""

    def stale(self, stale_after: timedelta = STALE_AFTER) -> bool:
        """Gone process on this host, or not refreshed for ``stale_after`` (unreadable: never stale)."""
        return self.info is not None and _info_stale(self.info, stale_after)

    def describe(self) -> str:
        if self.info is None:
            return f"an unreadable lock file {self.key}"
        what = self.info.get("operation") or "entrasnap"
        return (
            f"{what} (process {self.info.get('pid')} on {self.info.get('host')}, "
            f"lock refreshed {self.info.get('created')}, {self.key})"
        )


def repository_locks(backend: Backend) -> list[LockFile]:
    """Every shared and exclusive lock file (not ``locks/commit``); a file deleted meanwhile is left out."""
    found = []
    for key in backend.list(LOCK_PREFIX):
        kind = key.removeprefix(LOCK_PREFIX).partition("-")[0]
        if kind not in (SHARED, EXCLUSIVE):
            continue
        try:
            raw = backend.read(key)
        except NotFoundError:
            continue  # released or refreshed while listing
        found.append(LockFile(key, kind, _parse(raw)))
    return found


def remove_locks(backend: Backend, *, everything: bool = False) -> list[LockFile]:
    """Delete stale lock files (with ``everything``, all of them, ``locks/commit`` too); returns them."""
    removed = [lock for lock in repository_locks(backend) if everything or lock.stale()]
    try:
        commit = LockFile(LOCK_PREFIX + "commit", "commit", _parse(backend.read(LOCK_PREFIX + "commit")))
    except NotFoundError:
        pass
    else:
        if everything or commit.info is None or commit.stale(timedelta(minutes=10)):
            removed.append(commit)
    for lock in removed:
        backend.delete(lock.key)
    return removed


class RepositoryLock:
    """A shared (snapshot, copy) or exclusive (forget, prune) lock on a whole repository.

    ``acquire`` creates ``locks/<kind>-<uuid>``, then lists the locks: a conflicting one that is not
    stale (an exclusive lock conflicts with every other; a shared one with exclusive ones) makes it
    delete its own file, wait and retry, and after ``wait`` seconds fail naming the holder. Stale locks
    are ignored and deleted. While held, a thread refreshes the lock every ``refresh_every``; if that
    has not succeeded for ``stale_after - refresh_every`` (others may soon call the lock stale), or the
    lock file was removed, the lock is *lost*: ``ensure_held`` (called by every commit on this backend)
    raises, so a process that was suspended while a prune ran never commits a record naming pruned data.
    """

    def __init__(
        self,
        backend: Backend,
        kind: str,
        *,
        operation: str = "",
        wait: float = 60.0,
        stale_after: timedelta = STALE_AFTER,
        refresh_every: timedelta = REFRESH_EVERY,
        settle: float = 0.1,
    ) -> None:
        if kind not in (SHARED, EXCLUSIVE):
            raise ValueError(f"lock kind {kind!r} is not {SHARED!r} or {EXCLUSIVE!r}")
        self.backend = backend
        self.kind = kind
        self.operation = operation
        self.wait = wait
        self.stale_after = stale_after
        self.refresh_every = refresh_every
        self.settle = settle
        self.key: str | None = None
        self.refreshed = 0.0
        """Wall-clock time of the last successful create (time.time(): it advances during suspend)."""
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()

    def __enter__(self) -> RepositoryLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        delay = 0.2
        while True:
            self._create()
            time.sleep(self.settle)  # lets a concurrent creator's file appear (eventually consistent stores)
            conflict = self._conflict()
            if conflict is None:
                break
            self._delete_own()
            if time.monotonic() >= deadline:
                how = "exclusively " if conflict.kind == EXCLUSIVE else ""
                raise LockedError(
                    f"repository {self.backend} is locked {how}by {conflict.describe()}; "
                    f"{self.operation or 'this command'} needs it {'exclusively' if self.exclusive else 'shared'}. "
                    f"A lock is stale once its process has ended (same host) or after {_minutes(self.stale_after)} "
                    f"without refresh; `entrasnap unlock` removes stale locks"
                )
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())) * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 10.0)
        _held[id(self.backend)] = self
        self._thread = threading.Thread(target=self._refresh_loop, name="entrasnap-lock", daemon=True)
        self._thread.start()

    @property
    def exclusive(self) -> bool:
        return self.kind == EXCLUSIVE

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if _held.get(id(self.backend)) is self:
            del _held[id(self.backend)]
        self._delete_own()

    def refresh(self) -> None:
        """Replace the lock file by a new one (create the new, then delete the old), unless lost."""
        with self._mutex:
            if self.key is None or self.lost:
                return
            old = self.key
            if time.time() - self.refreshed > self._deadline:
                self.lost = f"it was not refreshed for {_minutes(self._deadline)}"
                return
            self._create()
            if not self.backend.exists(old):  # someone judged us stale and removed it
                self.backend.delete(self.key)
                self.key = None
                self.lost = f"its lock file {old} was removed by another process"
                return
            self.backend.delete(old)

    def ensure_held(self) -> None:
        """Raise LockedError when the lock is lost (see the class docstring)."""
        with self._mutex:
            if not self.lost and time.time() - self.refreshed > self._deadline:
                self.lost = f"it was not refreshed for {_minutes(self._deadline)}"
            if not self.lost and (self.key is None or not self.backend.exists(self.key)):
                self.lost = f"its lock file {self.key} was removed by another process"
            if self.lost:
                raise LockedError(
                    f"the {self.kind} lock on repository {self.backend} was lost ({self.lost}), so another "
                    f"process may have changed the repository meanwhile; nothing more was written: run again"
                )

    @property
    def _deadline(self) -> float:
        return (self.stale_after - self.refresh_every).total_seconds()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.refresh_every.total_seconds()):
            try:
                self.refresh()
            except StoreError:
                continue  # retried at the next tick; ensure_held fails once too much time has passed

    def _create(self) -> None:
        key = f"{LOCK_PREFIX}{self.kind}-{uuid.uuid4().hex}"
        info = {**holder(), "operation": self.operation}
        self.backend.create(key, canonical_bytes(info))
        self.key = key
        self.refreshed = time.time()

    def _delete_own(self) -> None:
        if self.key is not None:
            self.backend.delete(self.key)
            self.key = None

    def _conflict(self) -> LockFile | None:
        """A live lock that excludes ours; stale ones are deleted on the way."""
        for _ in range(5):
            locks = [lock for lock in repository_locks(self.backend) if lock.key != self.key]
            conflicts = [lock for lock in locks if self.exclusive or lock.kind == EXCLUSIVE]
            live = [lock for lock in conflicts if not lock.stale(self.stale_after)]
            for lock in conflicts:
                if lock not in live:
                    self.backend.delete(lock.key)
            if live:
                return live[0]
            if len(conflicts) == len(live):
                return None
            # stale locks were removed: list again, in case a refresh replaced one meanwhile
        return None


def check_held(backend: Backend) -> None:
    """Raise if this process holds a repository lock on ``backend`` and has lost it."""
    held = _held.get(id(backend))
    if held is not None:
        held.ensure_held()


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        info = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return info if isinstance(info, dict) else None


def _info_stale(info: dict[str, Any], stale_after: timedelta) -> bool:
    try:
        created = parse_time(str(info["created"]))
    except (KeyError, ValueError):
        return True
    pid = info.get("pid")
    if info.get("host") == socket.gethostname() and isinstance(pid, int) and not _alive(pid):
        return True
    return datetime.now(UTC) - created > stale_after


def _minutes(delta: timedelta | float) -> str:
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else delta
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
