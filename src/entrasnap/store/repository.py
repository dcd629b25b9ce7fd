"""The repository: content-addressed write-once objects plus snapshot records (docs/FORMAT.md)."""

from __future__ import annotations

import json
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from entrasnap.store import delta
from entrasnap.store.backend import Backend
from entrasnap.store.canonical import HASH_RE, canonical_bytes, digest
from entrasnap.store.codec import PLAIN, Codec, DamagedError
from entrasnap.store.errors import NotFoundError, RepositoryNotFoundError, StoreError, TruncatedError
from entrasnap.store.index import Index, write_index
from entrasnap.store.pack import (
    PACK_MAX_AGE_SECONDS,
    PACK_TARGET_BYTES,
    Location,
    PackBuilder,
    pack_key,
    parse_location,
)
from entrasnap.store.record import RECORD_FORMAT, SnapshotRecord, format_time, parse_time
from entrasnap.store.record_cache import RecordCache

if TYPE_CHECKING:
    from entrasnap.store.signing import Signer
    from entrasnap.store.writer import SnapshotWriter

CONFIG_KEY = "config.json"
FORMAT_NAME = "entrasnap-repository"
FORMAT_VERSION = 4
"""Written by ``init``: version 4 may hold chained delta objects, version 3 deltas against full objects
only (docs/FORMAT.md); versions 2 and 3 are still read and written in their own format."""
OLDEST_VERSION = 2
CHAINS_VERSION = 4
LINE_SHARE = 0.5
"""A version in a line of skip-deltas is stored as a delta when that takes at most this share of its
full stored size (otherwise it starts a new line)."""
DELTA_MAX_SHARE = 0.5
"""By default, an object is stored as a delta only when that takes at most this share of its full
stored size (bases.py sets the share per kind of object)."""
BASE_CACHE_BYTES = 8 * 1024 * 1024
"""Decompressed bases kept for reading deltas (a base is shared by many of them)."""
MIN_PREFIX = 6
PACK_CACHE_BYTES = 64 * 1024 * 1024
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
    """Open with ``Repository.open(LocalBackend(path))``; create with ``init`` or ``open(create=True)``.

    Objects go into pack files (``data/``), listed by index files (``index/``); manifests carry each
    object's location, so reads seldom need the index. Call ``flush`` (``SnapshotWriter.commit`` does)
    to write the pack being filled.
    """

    def __init__(self, backend: Backend, config: dict[str, Any], codec: Codec = PLAIN) -> None:
        self.backend = backend
        self.config = config
        self.stats = WriteStats()
        self.codec: Codec = codec
        self.index = Index(backend, self.codec)
        self.signer: Signer | None = None
        """Signs the snapshot records this process commits (optional; store/signing.py)."""
        self._hints: dict[str, Any] = {}
        """hash -> location: a Location tuple, or the [pack, offset, length] a manifest gave (parsed on use)."""
        self.learn_locations = True
        """Whether reading a manifest or chunk remembers its objects' locations (readers that avoid the
        index); a writer turns it off: it loads the index anyway, and an incremental snapshot reads every
        manifest of the previous snapshot (on L, ~100 MB of duplicated locations)."""
        self._gone: set[str] = set()
        """Packs found missing (prune deleted or repacked them): locations into them are stale."""
        self._pack: PackBuilder | None = None
        self._packs_written: list[str] = []
        self.record_cache: RecordCache | None = None
        self._pack_cache: OrderedDict[str, bytes] = OrderedDict()
        self._pack_reads: dict[str, int] = {}
        """Heads of records kept on local disk between runs (set by the caller; plain repositories only)."""
        self._manifests: dict[str, tuple[str, ...]] = {}
        self._bases: OrderedDict[str, bytes] = OrderedDict()
        self._bases_size = 0
        self.deltas = config.get("version") != OLDEST_VERSION
        """Whether new objects may be stored as deltas (not in a version-2 repository, which older
        entrasnap reads)."""
        version = config.get("version")
        self.chains = isinstance(version, int) and version >= CHAINS_VERSION
        """Whether deltas may have deltas as bases (skip-delta lines; not in a version-3 repository)."""
        self._prefetched: dict[str, tuple[delta.Base | None, bytes]] = {}
        """Unsealed bases read ahead by get_many (pack by pack), used and dropped by base_bytes."""

    @property
    def id(self) -> str:
        return str(self.config["id"])

    @property
    def pack_size(self) -> int:
        """Packs are written once they hold this many bytes (config ``pack_size``)."""
        size = self.config.get("pack_size")
        return size if isinstance(size, int) and size > 0 else PACK_TARGET_BYTES

    @classmethod
    def init(
        cls, backend: Backend, *, pack_size: int = PACK_TARGET_BYTES, key: bytes | None = None
    ) -> Repository:
        """Create a new repository (encrypted when given an operator ``key``); fails if one is there."""
        config = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "id": str(uuid.uuid4()),
            "created": format_time(datetime.now(UTC)),
            "hash": "sha256",
            "compression": "zlib",
            "pack_size": pack_size,
        }
        codec: Codec = PLAIN
        key_file = None
        if key is not None:  # the key file first: an encrypted config.json always has one
            from entrasnap.store.keys import start_encryption

            key_file, codec = start_encryption(backend, str(config["id"]), key)
            config["encryption"] = codec.name
        if not backend.create(CONFIG_KEY, canonical_bytes(config)):
            if key_file is not None:
                backend.delete(key_file)
            raise StoreError(f"{backend} already holds an entrasnap repository (config.json exists)")
        return cls(backend, config, codec)

    @classmethod
    def open(cls, backend: Backend, *, create: bool = False, key: bytes | None = None) -> Repository:
        """Open an existing repository (or create one if ``create``); refuses newer formats.

        ``key`` is the operator's encryption key: required by an encrypted repository, refused by a
        plain one, and (with ``create``) makes a new repository encrypted.
        """
        try:
            raw = backend.read(CONFIG_KEY)
        except RepositoryNotFoundError:
            if create:
                return cls.init(backend, key=key)
            raise
        except NotFoundError as exc:
            if create:
                return cls.init(backend, key=key)
            raise StoreError(f"{backend} is not an entrasnap repository (no config.json)") from exc
        config = _check_config(raw, str(backend))
        if key is None and "encryption" not in config:
            return cls(backend, config)
        from entrasnap.store.keys import open_codec  # cryptography is slow to import: only when needed

        return cls(backend, config, open_codec(backend, config, key))

    # objects

    def put(self, value: Any) -> str:
        """Store a JSON value as an object unless present; returns its hash."""
        return self.put_counted(value, self.stats)

    def put_counted(
        self,
        value: Any,
        *counters: WriteStats,
        base: Callable[[], str | None] | None = None,
        share: float = DELTA_MAX_SHARE,
        line: int = 0,
    ) -> str:
        """put(), adding what was written or reused to each of ``counters`` (``base``, ``share``,
        ``line``: put_located's)."""
        return self.put_located(value, *counters, base=base, share=share, line=line)[0]

    def put_located(
        self,
        value: Any,
        *counters: WriteStats,
        base: Callable[[], str | None] | None = None,
        share: float = DELTA_MAX_SHARE,
        line: int = 0,
    ) -> tuple[str, Location]:
        """put() that also returns where the object is stored.

        ``base`` names (called only when the object is new) the previous version of the same thing: the
        object is then stored as a delta against that version's full object when that takes at most
        ``share`` of its full stored size. With ``line`` (in a version-4 repository), versions form
        lines of at most ``line`` versions instead, version v a delta against version v & (v - 1)
        (skip-deltas, docs/FORMAT.md) when that takes at most LINE_SHARE of its full size.
        """
        data = canonical_bytes(value)
        hash_hex = self.codec.object_id(data)
        location = self.locate_current(hash_hex)
        written = 0
        if location is None:
            if self._pack is None:
                self._pack = PackBuilder()
            stored = self.codec.seal(data)
            chosen = self._delta_base(base(), line) if base is not None and self.deltas else None
            if chosen is not None:
                smaller = delta.seal(self.codec, data, *chosen)
                if len(smaller) <= (LINE_SHARE if chosen[0].version else share) * len(stored):
                    stored = smaller
                else:
                    chosen = None
            location = self._pack.add(hash_hex, stored, chosen[0].id if chosen else None)
            self._hints[hash_hex] = location
            written = len(stored)
            if self._pack.size >= self.pack_size or self._pack.age > PACK_MAX_AGE_SECONDS:
                self.flush()
        for stats in counters:
            stats.bytes_written += written
            stats.objects_written += 1 if written else 0
            stats.objects_reused += 0 if written else 1
        return hash_hex, location

    def _delta_base(self, previous: str | None, line: int = 0) -> tuple[delta.Base, bytes] | None:
        """The object (and its bytes) a new version of ``previous`` is to be a delta against, with the
        new version's number in its line (``Base.version``). Without ``line`` (or chains): the full
        object at the root of ``previous``'s chain (a star). With ``line``: version v = previous's + 1 is
        a delta against version v & (v - 1), found on ``previous``'s chain. None when there is no usable
        base (no previous version, it cannot be read, or the line is full: start a new one)."""
        if previous is None or not HASH_RE.match(previous):
            return None
        # (hash, version, where, its own base, its unsealed body) back to the full object
        chain: list[tuple[str, int, Location, delta.Base | None, bytes]] = []
        hash_hex: str | None = previous
        try:
            while hash_hex is not None and len(chain) <= delta.MAX_CHAIN:
                at = self.locate_current(hash_hex)
                if at is None:
                    return None
                base, body = delta.unseal(self.codec, self._stored(hash_hex, at))
                chain.append((hash_hex, base.version if base is not None else 0, at, base, body))
                hash_hex = base.id if base is not None else None
        except (StoreError, DamagedError):
            return None
        if hash_hex is not None:
            return None  # a chain longer than readers accept
        version = chain[0][1] + 1 if line and self.chains else 0
        if version >= line > 0:
            return None
        target = version & (version - 1)
        found = [link for link in chain if link[1] == target]  # version 0: the full object, last
        if not found:
            return None
        chosen, _, at, its_base, body = found[-1]
        try:  # its stored bytes were just read: not read again unless cached
            data = (
                self.base_bytes(delta.Base(chosen, at), previous)
                if chosen in self._bases
                else self._through(chosen, its_base, body)
            )
        except StoreError:
            return None
        return None if data is None else (delta.Base(chosen, at, version), data)

    def base_bytes(self, base: delta.Base, user: str, depth: int = 0) -> bytes:
        """The canonical bytes of a delta's base (a full object, or in a version-4 repository another
        delta, read through its own base), kept in a small cache; StoreError naming the delta ``user``
        when the base is missing or damaged. Where the delta says the base is comes first; the index is
        read only when that fails."""
        cached = self._bases.get(base.id)
        if cached is not None:
            self._bases.move_to_end(base.id)
            return cached
        if depth >= delta.MAX_CHAIN:
            raise StoreError(
                f"delta object {user} is damaged (a chain of more than {delta.MAX_CHAIN} deltas)"
            )
        prefetched = self._prefetched.pop(base.id, None)
        if prefetched is not None:
            data = self._through(base.id, *prefetched, depth + 1)
            if data is not None:
                return data
        tried: set[Location] = set()
        for at in self._base_locations(base):
            if at in tried or at[0] in self._gone:
                continue
            tried.add(at)
            try:
                base_of_base, body = delta.unseal(self.codec, self._stored(base.id, at))
            except NotFoundError:
                self._gone.add(at[0])
                continue
            except (TruncatedError, DamagedError):
                continue
            data = self._through(base.id, base_of_base, body, depth + 1)
            if data is not None:
                return data
        state = "damaged" if self.index.lookup(base.id) else "missing"
        raise StoreError(f"object {base.id} (the base of delta object {user}) is {state} in {self.backend}")

    def _through(
        self, hash_hex: str, base: delta.Base | None, body: bytes, depth: int = 0, *, keep: bool = True
    ) -> bytes | None:
        """The verified bytes of an object from its unsealed form (a delta inflated through its base, at
        ``depth`` on a chain), kept in the base cache when ``keep``; None when they are not that object."""
        try:
            data = body if base is None else delta.inflate(body, self.base_bytes(base, hash_hex, depth))
        except DamagedError:
            return None
        if self.codec.object_id(data) != hash_hex:
            return None
        if keep:
            self._keep_base(hash_hex, data)
        return data

    def _base_locations(self, base: delta.Base) -> Iterator[Location]:
        """Where a base may be: the delta's hint, a known location, then (read only if needed) the index."""
        yield from (at for at in (base.at, self._hint(base.id)) if at is not None)
        indexed = self.index.lookup(base.id)
        if indexed is not None:
            yield indexed

    def _keep_base(self, base_id: str, data: bytes) -> None:
        if base_id not in self._bases:
            self._bases[base_id] = data
            self._bases_size += len(data)
        while self._bases_size > BASE_CACHE_BYTES and len(self._bases) > 1:
            self._bases_size -= len(self._bases.popitem(last=False)[1])

    def _stored(self, hash_hex: str, location: Location) -> bytes:
        """An object's stored bytes at a location (this process's unwritten pack included)."""
        pack_id, offset, length = location
        if self._pack is not None and self._pack.id == pack_id:
            stored = self._pack.stored(hash_hex)
            if stored is not None:
                return stored
        return self._read_stored(pack_id, offset, length)

    def locate(self, hash_hex: str) -> Location | None:
        """Where an object is stored (known locations first, then the index); None when absent."""
        hinted = self._hint(hash_hex)
        return hinted if hinted and hinted[0] not in self._gone else self.index.lookup(hash_hex)

    def locate_current(self, hash_hex: str) -> Location | None:
        """Where an object is now, for writing it into a manifest: the index first (a location read from
        an older manifest may point into a pack that prune has since rewritten), then this process's
        unwritten pack."""
        return self.index.lookup(hash_hex) or self._hint(hash_hex)

    def _hint(self, hash_hex: str) -> Location | None:
        value = self._hints.get(hash_hex)
        if value is None or isinstance(value, tuple):
            return value
        location = parse_location(value)
        if location is None:
            del self._hints[hash_hex]
        else:
            self._hints[hash_hex] = location
        return location

    def hint(self, hash_hex: str, location: Location) -> None:
        """Remember where an object is said to be (a manifest's location); reads verify it."""
        self._hints.setdefault(hash_hex, location)

    def flush(self) -> None:
        """Write the pack being filled, then its index file (so a crash leaves no unlisted pack in use)."""
        pack, self._pack = self._pack, None
        if pack is None or not pack.blobs:
            return
        self.backend.create(pack_key(pack.id), pack.finish(self.codec))
        write_index(self.backend, [(pack.id, pack.blobs)], self.codec, pack.bases)
        self.index.record(pack.id, pack.blobs)
        self._packs_written.append(pack.id)
        for hash_hex, _, _ in pack.blobs:  # the index knows them now: memory stays bounded by a pack
            self._hints.pop(hash_hex, None)

    def get(self, hash_hex: str) -> Any:
        """The JSON value stored under a hash, after checking the content still has that hash."""
        value = orjson.loads(self.get_data(hash_hex))  # the same values as json.loads, several times faster
        self._learn(value)
        return value

    def get_data(self, hash_hex: str) -> bytes:
        """The canonical JSON bytes stored under a hash (checked as get() does), not decoded."""
        if not HASH_RE.match(hash_hex):
            raise StoreError(f"not an object hash: {hash_hex!r}")
        hinted = self._hint(hash_hex)
        data = self._read_verified(hash_hex, hinted) if hinted and hinted[0] not in self._gone else None
        if data is None:
            indexed = self.index.lookup(hash_hex)
            if indexed is None:
                raise StoreError(f"object {hash_hex} is missing from repository {self.backend}")
            if indexed != hinted:
                data = self._read_verified(hash_hex, indexed)
            if data is None:
                raise StoreError(
                    f"object {hash_hex} is damaged (content does not match its hash, {pack_key(indexed[0])})"
                )
            self._hints[hash_hex] = indexed
        return data

    def _read_verified(self, hash_hex: str, location: Location) -> bytes | None:
        """The object's canonical bytes at a location, or None when they are absent or not that object."""
        try:
            stored = self._stored(hash_hex, location)
        except NotFoundError:
            self._gone.add(location[0])
            return None
        except TruncatedError:
            return None
        return self.unseal_object(hash_hex, stored)

    def unseal_object(self, hash_hex: str, stored: bytes) -> bytes | None:
        """An object's canonical bytes from its stored form (a delta through its base), or None when they
        are not that object. StoreError when a delta's base is missing or damaged."""
        try:
            base, body = delta.unseal(self.codec, stored)
        except DamagedError:
            return None
        return self._verified(hash_hex, base, body)

    def _verified(self, hash_hex: str, base: delta.Base | None, body: bytes) -> bytes | None:
        """The canonical bytes of an unsealed object (a delta inflated through its base), or None when
        they are not that object. An even version of a line (the kind later versions are deltas of) is
        kept as a base: reading a line in order (history) then inflates each version once."""
        even = base is not None and bool(base.version) and not base.version & 1
        return self._through(hash_hex, base, body, keep=even)

    def get_many(self, hashes: Iterable[str]) -> dict[str, Any]:
        """get() for many objects: on local storage each pack is opened once and read in offset order
        (a year-apart diff reads tens of thousands of objects). Anything unusual falls back to get()."""
        found = self.get_many_data(hashes)
        for hash_hex, data in found.items():
            found[hash_hex] = value = orjson.loads(data)
            self._learn(value)
        return found

    def get_many_data(self, hashes: Iterable[str]) -> dict[str, Any]:
        """get_data() for many objects, read as get_many() reads them (a caller may decode each one
        just before using it, while it is still in the CPU's caches)."""
        wanted = list(dict.fromkeys(hashes))
        if getattr(self.backend, "remote", False):
            return {h: self.get_data(h) for h in wanted}
        by_pack: dict[str, list[tuple[int, int, str]]] = {}
        found: dict[str, Any] = {}
        for hash_hex in wanted:
            at = self._hint(hash_hex) if HASH_RE.match(hash_hex) else None
            if at is not None and at[0] not in self._gone and (self._pack is None or self._pack.id != at[0]):
                by_pack.setdefault(at[0], []).append((at[1], at[2], hash_hex))
        unsealed = list(self._read_unsealed(by_pack))
        # Full objects first: one that is also the base of a delta read here is kept for it (a diff
        # reads an object's old and new versions together, and the new one is often a delta of the old).
        self._prefetched.update({h: (b, body) for h, b, body in unsealed if b is not None})
        bases = self._prefetch([b for _, b, _ in unsealed if b is not None], {h for h, _, _ in unsealed})
        try:
            for hash_hex, base, body in sorted(unsealed, key=lambda u: u[1] is not None):
                data = self._verified(hash_hex, base, body)
                if data is None:
                    continue
                if base is None and hash_hex in bases:
                    self._keep_base(hash_hex, data)
                found[hash_hex] = data
        finally:
            self._prefetched.clear()
        return {h: found[h] if h in found else self.get_data(h) for h in wanted}

    def _read_unsealed(
        self, by_pack: dict[str, list[tuple[int, int, str]]]
    ) -> Iterator[tuple[str, delta.Base | None, bytes]]:
        """The objects at (offset, length, hash) in each pack, unsealed, each pack read once in offset
        order; a pack that cannot be read or an object that does not unseal is left out (a later get()
        finds it through the index and says what is wrong)."""
        for pack_id, items in by_pack.items():
            items.sort()
            try:
                stored = self.backend.read_ranges(pack_key(pack_id), [(o, n) for o, n, _ in items])
            except (NotFoundError, TruncatedError):
                continue
            for (_, _, hash_hex), blob in zip(items, stored, strict=True):
                try:
                    yield (hash_hex, *delta.unseal(self.codec, blob))
                except DamagedError:
                    continue

    def _prefetch(self, bases: list[delta.Base], have: set[str]) -> set[str]:
        """Read the bases of deltas (and theirs, down their chains) that neither ``have`` nor the cache
        holds, each pack once per level, where the deltas say they are; base_bytes takes them from
        there (and reads anything missed or moved the usual way). Returns every base id met."""
        met: set[str] = set()
        for _ in range(delta.MAX_CHAIN):
            by_pack: dict[str, list[tuple[int, int, str]]] = {}
            for base in bases:
                met.add(base.id)
                at = base.at or self._hint(base.id)
                if base.id in have or base.id in self._bases or at is None or at[0] in self._gone:
                    continue
                have.add(base.id)
                if self._pack is None or self._pack.id != at[0]:
                    by_pack.setdefault(at[0], []).append((at[1], at[2], base.id))
            bases = []
            for hash_hex, base_of_base, body in self._read_unsealed(by_pack):
                self._prefetched[hash_hex] = (base_of_base, body)
                if base_of_base is not None:
                    bases.append(base_of_base)
            if not bases:
                break
        return met

    def _read_stored(self, pack_id: str, offset: int, length: int) -> bytes:
        """Stored bytes from a pack. On remote storage, a pack read from three times is downloaded
        whole and kept (up to PACK_CACHE_BYTES), so reading many objects is not one request each."""
        if not getattr(self.backend, "remote", False):
            return self.backend.read_range(pack_key(pack_id), offset, length)
        cached = self._pack_cache.get(pack_id)
        if cached is None:
            self._pack_reads[pack_id] = self._pack_reads.get(pack_id, 0) + 1
            if self._pack_reads[pack_id] < 3:
                return self.backend.read_range(pack_key(pack_id), offset, length)
            cached = self.backend.read(pack_key(pack_id))
            self._pack_cache[pack_id] = cached
            while sum(map(len, self._pack_cache.values())) > PACK_CACHE_BYTES and len(self._pack_cache) > 1:
                self._pack_cache.popitem(last=False)
        else:
            self._pack_cache.move_to_end(pack_id)
        if offset + length > len(cached):
            raise TruncatedError(
                f"{pack_key(pack_id)} in {self.backend} is shorter than expected (truncated?)"
            )
        return cached[offset : offset + length]

    def _learn(self, value: Any) -> None:
        """Take the locations a manifest or manifest chunk carries (checked when used: a malformed one is
        dropped then, and every read verifies the hash)."""
        if not self.learn_locations:
            return
        if not isinstance(value, dict) or len(value) != 1:
            return
        try:
            if isinstance(entries := value.get("entries"), list):
                self._hints.update({e[1]: e[3] for e in entries if len(e) > 3 and isinstance(e[1], str)})
            elif isinstance(chunks := value.get("chunks"), list):
                self._hints.update({c[0]: c[1] for c in chunks if len(c) == 2 and isinstance(c[0], str)})
        except (TypeError, KeyError, IndexError):
            return  # a malformed manifest gives no locations; reads fall back to the index

    # snapshots

    def writer(self, meta: dict[str, Any]) -> SnapshotWriter:
        """Start a snapshot. meta: tenant, graph, entrasnap, parent, started (all optional)."""
        from entrasnap.store.writer import SnapshotWriter

        return SnapshotWriter(self, meta)

    def snapshots(self) -> list[SnapshotRecord]:
        """Every committed snapshot, oldest first (by start time, then id).

        With a ``record_cache`` (plain repositories only), records are listed from their cached heads
        and read in full on first use.
        """
        keys = list(self.backend.list("snapshots/"))
        cache = self.record_cache if self.codec is PLAIN else None
        records = []
        for key in keys:
            cached = cache.get(key) if cache is not None else None
            if cached is not None:
                hash_hex, head = cached
                record = SnapshotRecord(
                    key, hash=hash_hex, head=head, loader=partial(self._load, key, hash_hex)
                )
            else:
                record = self._read_record(key)
                if cache is not None:
                    cache.put(key, record.hash, record.head)
            records.append(record)
        if cache is not None:
            cache.keep_only(set(keys))
            cache.save()
        return sorted(records, key=lambda r: (r.started, r.id))

    def _load(self, key: str, expected_hash: str) -> dict[str, Any]:
        """The full content of a record listed from the cache, which must still have the cached hash."""
        record = self._read_record(key)
        if record.hash != expected_hash:
            raise StoreError(
                f"snapshot record {key} in {self.backend} changed after entrasnap last read it "
                "(records are never rewritten): run entrasnap check"
            )
        return record.data

    def _read_record(self, key: str) -> SnapshotRecord:
        match = _RECORD_NAME_RE.match(key)
        if not match:
            raise StoreError(f"snapshot record {key} in {self.backend} has an unexpected name")
        raw = self.backend.read(key)
        try:
            data = orjson.loads(self.codec.unseal_record(raw))
        except (orjson.JSONDecodeError, DamagedError) as exc:
            raise StoreError(f"snapshot record {key} in {self.backend} is damaged ({exc})") from exc
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
        for info in data["types"].values():
            manifest = info.get("manifest") if isinstance(info, dict) else None
            if isinstance(manifest, list) and len(manifest) == 2 and isinstance(manifest[0], str):
                self._hints.setdefault(manifest[0], manifest[1])  # parsed when used (_hint)
        return SnapshotRecord(key=key, data=data, hash=digest(raw))

    def chain_head(self) -> tuple[int, str | None]:
        """(sequence, hash) of the newest record in the chain; (0, None) for an empty repository."""
        records = self.snapshots()
        if not records:
            return 0, None
        head = max(records, key=lambda r: r.sequence)
        return head.sequence, head.hash

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

    def chunks(self, record: SnapshotRecord, type_key: str) -> tuple[str, ...]:
        """The hashes of a type's manifest chunks in a snapshot, in id order (empty for no objects)."""
        manifest = _type_info(record, type_key).get("manifest")
        if manifest is None:
            return ()
        if not (isinstance(manifest, list) and len(manifest) == 2 and isinstance(manifest[0], str)):
            raise StoreError(f"snapshot {record.id} is damaged (type {type_key} has a malformed manifest)")
        value = self._manifests.get(manifest[0])
        if value is None:
            value = tuple(str(c[0]) for c in self.get(manifest[0])["chunks"])
            self._manifests[manifest[0]] = value
        return value

    def named_entries(self, record: SnapshotRecord, type_key: str) -> Iterator[tuple[str, str, str | None]]:
        """(object id, record hash, display name or None) of a type in a snapshot, in id order."""
        for chunk_hash in self.chunks(record, type_key):
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
    if version < OLDEST_VERSION:
        raise StoreError(
            f"this repository has format version {version}, a pre-release format this entrasnap no longer "
            f"reads; start a new repository (a new --store location)"
        )
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
