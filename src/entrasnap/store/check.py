"""``entrasnap check``: verify a repository's structure, its snapshot chain and, optionally, every byte.

Structure (always): config.json; every snapshot record (parses, name matches, canonical); the chain of
records (``sequence`` 1..N, each ``previous`` the sha256 of its predecessor's bytes); signatures
against a public key when one is given; every index file (name = sha256 of content, parses); every
pack an index lists (present, trailer readable and listing the same objects); every object a snapshot
needs (records -> manifests -> chunks -> object records, and the base of each delta object) present in a
pack where the index says. Manifests and chunks are read and re-hashed on the way (a delta through its
base); object records are not.

``read_data``: additionally every pack is read once, whole, and every object in it re-hashed.

Damage (a missing, corrupt or misplaced file; a broken chain; a bad signature) makes ``exit_code`` 1;
warnings (leftovers of interrupted runs: unindexed packs, ``.tmp-`` files, stale locks, unknown files)
do not, unless ``strict``. Memory: the index plus one entry per object snapshots need; packs are read
one at a time.
"""

from __future__ import annotations

import json
import os
import re
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from entrasnap.store import delta
from entrasnap.store.backend import TEMP_PREFIX, Backend, LocalBackend
from entrasnap.store.canonical import HASH_RE, canonical_bytes, digest
from entrasnap.store.check_chain import Link, chain_problems, parse_tombstone, previous_of, sequence_of
from entrasnap.store.codec import Codec, DamagedError
from entrasnap.store.errors import NotFoundError, RepositoryNotFoundError, StoreError
from entrasnap.store.index import INDEX_PREFIX, parse_index_bases
from entrasnap.store.lock import LOCK_PREFIX, repository_locks
from entrasnap.store.pack import (
    TRAILER_LENGTH_BYTES,
    Location,
    pack_key,
    parse_blobs,
    parse_location,
    read_trailer_bases,
)
from entrasnap.store.record import RECORD_FORMAT, TYPE_STATUSES, parse_time, record_key
from entrasnap.store.repository import CONFIG_KEY, Repository
from entrasnap.store.signing import verify

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EXIT_OK, EXIT_DAMAGE, EXIT_UNUSABLE = 0, 1, 2
"""0: no damage; 1: damage found (or warnings, with strict); 2: check could not run (bad input)."""
DAMAGE, WARNING = "damage", "warning"
SNAPSHOTS, DATA, FORGOTTEN = "snapshots/", "data/", "forgotten/"
KNOWN_TOP = (CONFIG_KEY, SNAPSHOTS, DATA, INDEX_PREFIX, FORGOTTEN, LOCK_PREFIX, "keys/")
COMMIT_LOCK = LOCK_PREFIX + "commit"
_RECORD_RE = re.compile(r"^snapshots/\d{8}T\d{6}Z-([0-9a-f]{32})\.json$")
_PACK_RE = re.compile(r"^data/([0-9a-f]{2})/(\1[0-9a-f]{30})$")
MAX_LISTED = 5
"""Missing objects named one by one in a message (the count says how many there are)."""
_MAX_GAP = 256 * 1024
"""Objects of one pack are fetched with one ranged read while the bytes between them are fewer."""
_BASE_CACHE_BYTES = 96 * 1024 * 1024
"""Decompressed bases of delta objects kept while verifying (a base serves many deltas, read in pack
order rather than base order): bounded in bytes."""

Blobs = list[tuple[str, int, int]]


class CheckProgress(Protocol):
    """Told the bytes of pack data to read (``start``), then each pack's bytes as it is verified."""

    def start(self, total_bytes: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...


@dataclass(frozen=True)
class Problem:
    """One finding: ``severity`` damage or warning, the file it concerns, what is wrong."""

    severity: str
    key: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"severity": self.severity, "file": self.key, "message": self.message}


@dataclass
class CheckReport:
    """What ``check`` found. ``head`` is the newest record of the chain: log it elsewhere to detect
    removal of the newest records (see docs/SECURITY.md)."""

    store: str
    read_data: bool
    problems: list[Problem] = field(default_factory=list)
    snapshots: int = 0
    index_files: int = 0
    packs: int = 0
    pack_bytes: int = 0
    objects_indexed: int = 0
    objects_needed: int = 0
    objects_unused: int = 0
    """Indexed objects no snapshot needs (after forget; prune removes them): not damage."""
    objects_verified: int = 0
    bytes_read: int = 0
    head: dict[str, Any] | None = None
    damaged_snapshots: dict[str, list[str]] = field(default_factory=dict)
    """Snapshot id -> the types of it that cannot be read in full because of the damage found."""
    forgotten: list[dict[str, Any]] = field(default_factory=list)
    """The chain's links that are tombstones: snapshots removed by forget (sequence, id, tenant, ...)."""
    signatures: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    """Fingerprints of the public keys signatures were verified with (none: not verified)."""

    def add(self, severity: str, key: str, message: str) -> None:
        self.problems.append(Problem(severity, key, message))

    @property
    def damage(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == DAMAGE]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def exit_code(self, strict: bool = False) -> int:
        return EXIT_DAMAGE if self.damage or (strict and self.warnings) else EXIT_OK

    def as_json(self, strict: bool = False) -> dict[str, Any]:
        return {
            "ok": self.exit_code(strict) == EXIT_OK,
            "store": self.store,
            "readData": self.read_data,
            "snapshots": self.snapshots,
            "indexFiles": self.index_files,
            "packs": self.packs,
            "packBytes": self.pack_bytes,
            "objectsIndexed": self.objects_indexed,
            "objectsNeeded": self.objects_needed,
            "objectsUnused": self.objects_unused,
            "objectsVerified": self.objects_verified,
            "bytesRead": self.bytes_read,
            "head": self.head,
            "damagedSnapshots": self.damaged_snapshots,
            "forgotten": self.forgotten,
            "signatures": {"keys": self.keys, **self.signatures},
            "problems": [p.as_json() for p in self.problems],
        }


def check(
    backend: Backend,
    *,
    read_data: bool = False,
    public_keys: Sequence[Ed25519PublicKey] = (),
    progress: CheckProgress | None = None,
    opener: Callable[[Backend], Repository] = Repository.open,
    own_lock: str | None = None,
) -> CheckReport:
    """Check the repository in ``backend``; StoreError when there is no repository to check there.

    With ``public_keys``, every record must be signed by one of them. ``own_lock``: the key of the
    lock the caller holds while checking (not reported)."""
    report = CheckReport(store=str(backend), read_data=read_data)
    listing = _listing(backend)
    listing.pop(own_lock or "", None)
    repo = _open(backend, opener, listing, report)
    if repo is not None:
        _Checker(repo, listing, report, public_keys, progress).run()
    return report


def _listing(backend: Backend) -> dict[str, int]:
    try:
        return dict(backend.list_sizes(""))
    except RepositoryNotFoundError:
        raise
    except NotFoundError:
        return {}


def _open(
    backend: Backend, opener: Callable[[Backend], Repository], listing: dict[str, int], report: CheckReport
) -> Repository | None:
    """The repository, or None after reporting config.json missing or not JSON (other data present).

    Anything else that stops opening (a newer format, a wrong or missing encryption key) is bad input.
    """
    try:
        return opener(backend)
    except RepositoryNotFoundError:
        raise
    except StoreError as exc:
        if not any(k != CONFIG_KEY and k.startswith(KNOWN_TOP) for k in listing):
            raise  # nothing here looks like a repository
        if CONFIG_KEY in listing and _is_json(backend.read(CONFIG_KEY)):
            raise  # readable, but another format, a newer version or a key problem
        report.add(DAMAGE, CONFIG_KEY, f"{exc}; nothing else can be checked without it")
        return None


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


class _Checker:
    def __init__(
        self,
        repo: Repository,
        listing: dict[str, int],
        report: CheckReport,
        public_keys: Sequence[Ed25519PublicKey],
        progress: CheckProgress | None,
    ) -> None:
        self.repo = repo
        self.backend = repo.backend
        self.codec: Codec = repo.codec
        self.listing = listing
        self.report = report
        self.public_keys = public_keys
        self.progress = progress
        self.records: list[Link] = []
        self.data: dict[str, dict[str, Any]] = {}
        """Record key -> the record's parsed JSON (records that parse)."""
        self.tombstones: list[Link] = []
        self.locations: dict[str, Location] = {}
        """Every object the index files list."""
        self.indexed: dict[str, tuple[str, Blobs]] = {}
        """pack id -> (the first index file listing it, its blobs)."""
        self.packs: dict[str, int] = {}
        """pack id -> size of every pack file present."""
        self.unindexed: dict[str, Location] = {}
        """Objects in packs that no index lists (from their trailers)."""
        self.bad_packs: dict[str, str] = {}
        """pack id -> why its objects cannot be trusted (missing, truncated, unreadable trailer)."""
        self.needed: dict[str, int] = {}
        """Every object a snapshot needs -> index into ``type_keys`` (the type that first needed it)."""
        self.type_keys: list[str] = []
        self.manifest_users: dict[str, list[tuple[str, str]]] = defaultdict(list)
        """manifest -> every (snapshot id, type) it is the manifest of."""
        self.manifest_chunks: dict[str, list[str]] = {}
        self.chunks: dict[str, Location | None] = {}
        """Every manifest chunk -> the location its manifest gives."""
        self.missing: set[str] = set()
        self.corrupt: set[str] = set()
        self.lost: set[str] = set()
        """Needed objects: not found, not matching their hash, in a missing or damaged pack."""
        self.verified: set[tuple[str, str, int]] = set()
        """(hash, pack key, offset) of the manifests and chunks the walk read and re-hashed."""
        self.bases: dict[str, str] = {}
        """Delta object -> its base, as the index files (or, unindexed, the trailers) say."""
        self._base_cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._base_cache_bytes = 0

    def damage(self, key: str, message: str) -> None:
        self.report.add(DAMAGE, key, message)

    def warn(self, key: str, message: str) -> None:
        self.report.add(WARNING, key, message)

    def run(self) -> None:
        self.check_config()
        self.check_files()
        for key in sorted(k for k in self.listing if k.startswith(SNAPSHOTS)):
            self.check_record(key)
        self.report.snapshots = len(self.records)
        self.check_tombstones()
        self.check_chain()
        self.check_signatures()
        self.check_index()
        self.check_packs()
        self.walk()
        if self.report.read_data:
            self.read_all()
        self.affected()

    # config, files that are not part of the format

    def check_config(self) -> None:
        config = self.repo.config
        if not isinstance(config.get("id"), str) or not isinstance(config.get("created"), str):
            self.damage(CONFIG_KEY, "config.json lacks the repository id or creation time")

    def check_files(self) -> None:
        live = {lock.key for lock in repository_locks(self.backend) if not lock.stale()}
        for key in self.listing:
            if key == COMMIT_LOCK:
                self.warn(key, "a commit is in progress, or one crashed (the next commit removes it)")
            elif key.startswith(LOCK_PREFIX) and key not in live:
                self.warn(
                    key,
                    "a stale lock (its process ended or stopped refreshing it): `entrasnap unlock` "
                    "removes it",
                )
            elif not key.startswith(KNOWN_TOP):
                self.warn(key, "not part of an entrasnap repository (unknown file)")
        if isinstance(self.backend, LocalBackend):
            for dirpath, _, filenames in os.walk(self.backend.root):
                for name in sorted(filenames):
                    if name.startswith(TEMP_PREFIX):
                        path = os.path.relpath(os.path.join(dirpath, name), self.backend.root)
                        self.warn(
                            path.replace(os.sep, "/"),
                            "an unfinished write left by an interrupted "
                            "process; delete it when no entrasnap is running",
                        )

    # snapshot records and their chain

    def check_record(self, key: str) -> None:
        match = _RECORD_RE.match(key)
        if match is None:
            self.damage(key, "unexpected file among the snapshot records (readers refuse the repository)")
            return
        try:
            raw = self.backend.read(key)
        except StoreError as exc:
            self.damage(key, f"snapshot record unreadable: {exc}")
            return
        record = Link(key, digest(raw))
        self.records.append(record)
        try:
            body = self.codec.unseal_record(raw)
            data = json.loads(body)
        except (DamagedError, ValueError) as exc:
            self.damage(key, f"snapshot record damaged: {exc}")
            return
        if not isinstance(data, dict):
            self.damage(key, "snapshot record damaged: not a JSON object")
            return
        self.data[key] = data
        sequence, previous = data.get("sequence"), data.get("previous")
        record.sequence, record.previous = sequence_of(sequence), previous_of(previous)
        if record.sequence is None:
            self.damage(key, f"snapshot record damaged: sequence {sequence!r} is not a positive integer")
        elif previous is not None and record.previous is None:
            self.damage(key, f"snapshot record damaged: previous {previous!r} is not a sha256")
        for problem in _record_problems(key, match.group(1), data, body):
            self.damage(key, problem)

    def check_tombstones(self) -> None:
        for key in sorted(k for k in self.listing if k.startswith(FORGOTTEN)):
            try:
                parsed = parse_tombstone(key, self.backend.read(key))
            except StoreError as exc:
                parsed = f"tombstone unreadable: {exc}"
            if isinstance(parsed, str):
                self.damage(key, parsed)
            else:
                self.tombstones.append(parsed)

    def check_chain(self) -> None:
        problems, head = chain_problems(self.records, self.tombstones)
        for key, message in problems:
            self.damage(key, message)
        if head is not None:
            self.report.head = {"sequence": head.sequence, "hash": head.hash, "file": head.key}
        present = {r.sequence for r in self.records}
        self.report.forgotten = [t.info for t in self.tombstones if t.sequence not in present]

    def check_signatures(self) -> None:
        counts: dict[str, int] = defaultdict(int)
        if not self.public_keys:
            signed_seen = False
            for record in sorted(self.records, key=lambda r: r.sequence or 0):
                data = self.data.get(record.key)
                if data is None:
                    continue
                signed = "signature" in data
                counts["signed" if signed else "unsigned"] += 1
                if signed_seen and not signed:
                    self.warn(
                        record.key,
                        "unsigned, although earlier records are signed (check with "
                        "--public-key to verify signatures)",
                    )
                signed_seen = signed_seen or signed
        else:
            from entrasnap.store.signing import fingerprint

            self.report.keys = [fingerprint(key) for key in self.public_keys]
            for record in self.records:
                if (data := self.data.get(record.key)) is not None:
                    verdict = verify(data, self.public_keys)
                    counts[verdict.status] += 1
                    if verdict.status != "valid":
                        self.damage(record.key, f"signature {verdict.status}: {verdict.detail}")
        self.report.signatures = dict(counts)

    # index files and packs

    def check_index(self) -> None:
        redundant: list[str] = []
        for key in sorted(k for k in self.listing if k.startswith(INDEX_PREFIX)):
            if not HASH_RE.match(key.removeprefix(INDEX_PREFIX)):
                self.damage(key, "unexpected file among the index files (readers fail on it)")
                continue
            try:
                packs, bases = parse_index_bases(self.backend.read(key), key, self.codec)
            except StoreError as exc:
                self.damage(key, str(exc))
                continue
            for hash_hex, base in bases.items():
                self.bases.setdefault(hash_hex, base)
            self.report.index_files += 1
            new = 0
            for pack_id, blobs in packs:
                first = self.indexed.get(pack_id)
                if first is None:
                    self.indexed[pack_id] = (key, blobs)
                    new += 1
                    for hash_hex, offset, length in blobs:
                        self.locations.setdefault(hash_hex, (pack_id, offset, length))
                elif sorted(first[1]) != sorted(blobs):
                    self.damage(key, f"lists pack {pack_id} with other objects than {first[0]} does")
            if packs and not new:
                redundant.append(key)
        for key in redundant:
            self.warn(
                key, "every pack it lists is listed by another index file too (left by an interrupted prune?)"
            )
        self.report.objects_indexed = len(self.locations)

    def check_packs(self) -> None:
        for key, size in self.listing.items():
            if not key.startswith(DATA):
                continue
            match = _PACK_RE.match(key)
            if match is None:
                self.warn(key, "not a pack file (unknown file among the packs)")
                continue
            self.packs[match.group(2)] = size
        self.report.packs = len(self.packs)
        self.report.pack_bytes = sum(self.packs.values())
        for pack_id, (index_key, blobs) in sorted(self.indexed.items()):
            if pack_id not in self.packs:
                self.bad_packs[pack_id] = "missing"
                self.damage(pack_key(pack_id), f"missing: {index_key} lists it with {len(blobs)} objects")
            else:
                self._compare(pack_id, self._tail(pack_id), index_key, blobs)
        for pack_id in sorted(set(self.packs) - set(self.indexed)):
            bases: dict[str, str] = {}
            for hash_hex, offset, length in self._tail(pack_id, bases) or []:
                self.unindexed.setdefault(hash_hex, (pack_id, offset, length))
            for hash_hex, base in bases.items():
                self.bases.setdefault(hash_hex, base)
            self.warn(
                pack_key(pack_id),
                "not listed in any index file (left by an interrupted run; prune removes it)",
            )

    def _tail(self, pack_id: str, bases: dict[str, str] | None = None) -> Blobs | None:
        """The pack's trailer, read with two ranged reads (its deltas' bases added to ``bases``); None
        after reporting it damaged."""
        key, size = pack_key(pack_id), self.packs[pack_id]
        try:
            if size < TRAILER_LENGTH_BYTES:
                raise ValueError("too short to hold a trailer")
            length = int.from_bytes(
                self._range(key, size - TRAILER_LENGTH_BYTES, TRAILER_LENGTH_BYTES), "big"
            )
            start = size - TRAILER_LENGTH_BYTES - length
            if length == 0 or start < 0:
                raise ValueError("trailer length out of range")
            header = orjson.loads(self.codec.unseal(self._range(key, start, length)))
            blobs = parse_blobs(header["blobs"], {} if bases is None else bases)
            if any(o < 0 or n <= 0 or o + n > start for _, o, n in blobs):
                raise ValueError("trailer names bytes outside the pack")
        except (StoreError, DamagedError, ValueError, KeyError, TypeError) as exc:
            self._bad_trailer(pack_id, exc)
            return None
        return blobs

    def _bad_trailer(self, pack_id: str, exc: Exception) -> None:
        self.bad_packs[pack_id] = "truncated or damaged"
        self.damage(pack_key(pack_id), f"pack damaged or truncated ({self.packs[pack_id]:,} bytes): {exc}")

    def _range(self, key: str, offset: int, length: int) -> bytes:
        self.report.bytes_read += length
        return self.backend.read_range(key, offset, length)

    def _compare(self, pack_id: str, trailer: Blobs | None, index_key: str, blobs: Blobs) -> None:
        if trailer is not None and sorted(trailer) != sorted(blobs):
            self.bad_packs[pack_id] = "inconsistent with its index"
            self.damage(
                pack_key(pack_id),
                f"its trailer lists {len(trailer)} objects, {index_key} lists "
                f"{len(blobs)}, not the same: the pack was replaced or altered",
            )

    # what snapshots need

    def walk(self) -> None:
        """records -> manifests -> chunks -> object records: each present where the index says."""
        manifests: dict[str, Location | None] = {}
        for record in self.records:
            data = self.data.get(record.key)
            for type_key, info in _types(data):
                manifest = info.get("manifest") if isinstance(info, dict) else None
                if manifest is None:
                    continue
                if not (isinstance(manifest, list) and manifest and isinstance(manifest[0], str)):
                    self.damage(record.key, f"type {type_key} has a malformed manifest reference")
                    continue
                snapshot = str(data.get("id", record.key)) if data else record.key
                self.manifest_users[manifest[0]].append((snapshot, type_key))
                if manifest[0] not in self.needed:
                    self.needed[manifest[0]] = self._type_index(type_key)
                    manifests[manifest[0]] = parse_location(manifest[1]) if len(manifest) > 1 else None
        for hash_hex, value in self._read_small(manifests, "manifest"):
            listed: list[str] = []
            self.manifest_chunks[hash_hex] = listed
            for chunk in value.get("chunks", []) if isinstance(value, dict) else []:
                if isinstance(chunk, list) and chunk and isinstance(chunk[0], str):
                    listed.append(chunk[0])
                    if chunk[0] not in self.needed:
                        self.needed[chunk[0]] = self.needed[hash_hex]
                        self.chunks[chunk[0]] = parse_location(chunk[1]) if len(chunk) > 1 else None
                else:
                    self.damage(self._where(hash_hex), f"manifest {hash_hex} has a malformed chunk entry")
        missing: dict[str, list[str]] = defaultdict(list)  # the pack they were said to be in -> objects
        for hash_hex, hashes, entries in self._chunk_entries(self.chunks):
            fresh = set(hashes).difference(self.needed)  # most entries were seen in an earlier chunk
            self.needed.update(dict.fromkeys(fresh, self.needed[hash_hex]))
            absent = fresh.difference(self.locations).difference(self.unindexed)
            for entry in (e for e in entries if absent and e[1] in absent):
                self.missing.add(entry[1])
                at = parse_location(entry[3]) if len(entry) > 3 else None
                where = pack_key(at[0]) if at else INDEX_PREFIX
                missing[where].append(f"{entry[1]} ({self._type(entry[1])} {entry[0]})")
        for where, objects in missing.items():
            named = ", ".join(objects[:MAX_LISTED]) + (
                f" and {len(objects) - MAX_LISTED} more" if len(objects) > MAX_LISTED else ""
            )
            self.damage(
                where,
                f"{len(objects)} objects snapshots need are missing (no index lists them, no pack holds them): {named}",
            )
        self._need_bases()
        self.report.objects_needed = len(self.needed)
        self.report.objects_unused = len(self.locations.keys() - self.needed.keys())
        self._report_uses()

    def _need_bases(self) -> None:
        """The base of every needed delta object is needed too; a missing one is damage."""
        absent: dict[str, list[str]] = defaultdict(list)
        users = [h for h in self.bases if h in self.needed]
        while users:  # down chains of deltas (format 4): a needed delta's base may be a delta too
            fresh = []
            for hash_hex in users:
                base = self.bases[hash_hex]
                if base not in self.needed:
                    self.needed[base] = self.needed[hash_hex]
                    fresh.append(base)
                if base not in self.locations and base not in self.unindexed:
                    self.missing.add(base)
                    absent[base].append(hash_hex)
            users = [b for b in fresh if b in self.bases]
        for base, users in sorted(absent.items()):
            self.damage(
                self._where(users[0]),
                f"object {base}, the base of {len(users)} delta object(s) snapshots need "
                f"(e.g. {self._type(users[0])} object {users[0]}), is missing: no index lists it and no "
                "pack holds it",
            )

    def _chunk_entries(
        self, chunks: dict[str, Location | None], quiet: bool = False
    ) -> Iterable[tuple[str, list[str], list[list[Any]]]]:
        """(hash, object hashes, well-formed entries) of each manifest chunk that can be read."""
        for hash_hex, value in self._read_small(chunks, "manifest chunk", quiet):
            entries = value.get("entries", []) if isinstance(value, dict) else []
            try:
                hashes = [e[1] for e in entries]  # the fast path: a well-formed chunk
                hash(tuple(hashes))  # a non-string hash is then simply not found (reported missing)
                yield hash_hex, hashes, entries
                continue
            except (TypeError, IndexError, KeyError):
                pass
            good = [e for e in entries if isinstance(e, list) and len(e) >= 2 and isinstance(e[1], str)]
            if not quiet:
                self.damage(self._where(hash_hex), f"manifest chunk {hash_hex} has a malformed entry")
            yield hash_hex, [e[1] for e in good], good

    def _type_index(self, type_key: str) -> int:
        if type_key not in self.type_keys:
            self.type_keys.append(type_key)
        return self.type_keys.index(type_key)

    def _type(self, hash_hex: str) -> str:
        """The type (of the first snapshot) that needs an object."""
        return self.type_keys[self.needed[hash_hex]]

    def _where(self, hash_hex: str) -> str:
        at = self.locations.get(hash_hex) or self.unindexed.get(hash_hex)
        return pack_key(at[0]) if at else INDEX_PREFIX

    def _read_small(
        self, wanted: dict[str, Location | None], kind: str, quiet: bool = False
    ) -> Iterable[tuple[str, Any]]:
        """(hash, value) of manifests or chunks, verified; one ranged read per pack for nearby ones."""
        by_pack: dict[str, list[tuple[str, Location]]] = defaultdict(list)
        for hash_hex, hint in wanted.items():
            at = self.locations.get(hash_hex) or self.unindexed.get(hash_hex)
            if at is None:
                self.missing.add(hash_hex)
                if not quiet:
                    self.damage(
                        pack_key(hint[0]) if hint else INDEX_PREFIX,
                        f"{kind} {hash_hex} ({self._type(hash_hex)}) is missing: no index lists it and no "
                        "pack holds it",
                    )
            elif at[0] not in self.bad_packs:
                by_pack[at[0]].append((hash_hex, at))
        for pack_id, items in sorted(by_pack.items()):
            key = pack_key(pack_id)
            for group in _runs(sorted(items, key=lambda item: item[1][1])):
                start = group[0][1][1]
                span = self._range(key, start, max(at[1] + at[2] for _, at in group) - start)
                for hash_hex, at in group:
                    stored = span[at[1] - start : at[1] - start + at[2]]
                    yield from self._verified(kind, key, hash_hex, at, stored, quiet)

    def _verified(
        self, kind: str, key: str, hash_hex: str, at: Location, stored: bytes, quiet: bool
    ) -> Iterable[tuple[str, Any]]:
        """(hash, value) of one manifest or chunk if its stored bytes match its hash; else damage."""
        value = self._decode(hash_hex, stored)
        if value is not None:
            self.verified.add((hash_hex, key, at[1]))
            yield hash_hex, value
        elif not quiet:
            self.corrupt.add(hash_hex)
            base = self.bases.get(hash_hex)
            why = (
                f"a delta whose base {base} is missing or damaged"
                if base is not None and self._base(base) is None
                else "corrupt: its content does not match its hash"
            )
            self.damage(key, f"{kind} {hash_hex} ({self._type(hash_hex)}) at offset {at[1]} is {why}")

    def _decode(self, hash_hex: str, stored: bytes) -> Any:
        try:
            data = self._unseal(stored)
            return orjson.loads(data) if self.codec.object_id(data) == hash_hex else None
        except (DamagedError, StoreError, orjson.JSONDecodeError):
            return None

    def _unseal(self, stored: bytes, depth: int = 0) -> bytes:
        """An object's canonical bytes from its stored form, a delta through its base; DamagedError."""
        base, data = delta.unseal(self.codec, stored)
        if base is None:
            return data
        base_bytes = self._base(base.id, depth + 1)
        if base_bytes is None:
            raise DamagedError(f"a delta whose base {base.id} is missing or damaged")
        return delta.inflate(data, base_bytes)

    def _base(self, base_id: str, depth: int = 1) -> bytes | None:
        """A delta's base (verified; a full object, or a delta read through its own base), or None when
        it cannot be read."""
        if base_id in self._base_cache:
            self._base_cache.move_to_end(base_id)
            return self._base_cache[base_id]
        at = self.locations.get(base_id) or self.unindexed.get(base_id)
        data = None
        if at is not None and at[0] not in self.bad_packs and depth <= delta.MAX_CHAIN:
            try:
                data = self._unseal(self._range(pack_key(at[0]), at[1], at[2]), depth)
                if self.codec.object_id(data) != base_id:
                    data = None
            except (StoreError, DamagedError):
                data = None
        self._base_cache[base_id] = data
        self._base_cache_bytes += len(data or b"")
        while self._base_cache_bytes > _BASE_CACHE_BYTES and len(self._base_cache) > 1:
            self._base_cache_bytes -= len(self._base_cache.popitem(last=False)[1] or b"")
        return data

    def _report_uses(self) -> None:
        """One line per damaged or unindexed pack holding objects snapshots need."""
        uses: dict[str, int] = defaultdict(int)
        for hash_hex in self.needed:
            at = self.locations.get(hash_hex)
            if at is not None and at[0] in self.bad_packs:
                self.lost.add(hash_hex)
                uses[at[0]] += 1
            elif at is None and hash_hex in self.unindexed:
                uses[self.unindexed[hash_hex][0]] += 1
        for pack_id, count in sorted(uses.items()):
            if pack_id in self.bad_packs:
                self.damage(
                    pack_key(pack_id), f"{self.bad_packs[pack_id]}, and snapshots need {count} objects in it"
                )
            else:
                self.damage(
                    pack_key(pack_id),
                    f"no index file lists it, but snapshots need {count} objects in it (an index file was "
                    "deleted?); they are still readable through the locations manifests carry",
                )

    def affected(self) -> None:
        """Which snapshots (and types) need a missing or corrupt object: a second look at the chunks,
        only when something is damaged."""
        bad = self.missing | self.corrupt | self.lost
        if not bad:
            return
        while True:  # a delta through a bad base is bad, down chains of deltas
            worse = {h for h, base in self.bases.items() if base in bad and h in self.needed} - bad
            if not worse:
                break
            bad.update(worse)
        readable = {h: at for h, at in self.chunks.items() if h not in bad}
        bad_chunks = bad.intersection(self.chunks)
        for hash_hex, hashes, _ in self._chunk_entries(readable, quiet=True):
            if not bad.isdisjoint(hashes):
                bad_chunks.add(hash_hex)
        damaged: dict[str, set[str]] = defaultdict(set)
        for manifest, users in self.manifest_users.items():
            chunks = self.manifest_chunks.get(manifest, [])
            if manifest in bad or any(c in bad_chunks for c in chunks):
                for snapshot, type_key in users:
                    damaged[snapshot].add(type_key)
        self.report.damaged_snapshots = {s: sorted(types) for s, types in sorted(damaged.items())}

    # --read-data

    def read_all(self) -> None:
        """Read every pack once and re-hash every object in it."""
        present = sorted(self.packs)
        if self.progress is not None:
            self.progress.start(sum(self.packs[p] for p in present))
        for pack_id in present:
            key = pack_key(pack_id)
            try:
                data = self.backend.read(key)
            except StoreError as exc:
                self.damage(key, f"pack unreadable: {exc}")
                continue
            self.report.bytes_read += len(data)
            listed = self.indexed.get(pack_id)
            blobs = listed[1] if listed else []
            if pack_id not in self.bad_packs:
                try:
                    blobs = read_trailer_bases(data, self.codec)[0]
                except ValueError as exc:  # changed since its trailer was read
                    self._bad_trailer(pack_id, exc)
            for hash_hex, offset, length in blobs:
                self._verify_blob(data, key, hash_hex, offset, length)
            if self.progress is not None:
                self.progress.advance(self.packs[pack_id])

    def _verify_blob(self, data: bytes, key: str, hash_hex: str, offset: int, length: int) -> None:
        self.report.objects_verified += 1
        if (hash_hex, key, offset) in self.verified:
            return  # a manifest or chunk re-hashed by the walk, at this very place
        stored = data[offset : offset + length]
        reason = ""
        if len(stored) != length:
            reason = "missing (the pack ends before it)"
        else:
            try:
                if self.codec.object_id(self._unseal(stored)) != hash_hex:
                    reason = "corrupt: its content does not match its hash"
            except DamagedError as exc:
                reason = f"corrupt: {exc}"
        if reason and hash_hex not in self.corrupt:
            needed = (
                f"a {self._type(hash_hex)} object" if hash_hex in self.needed else "needed by no snapshot"
            )
            if hash_hex in self.needed:
                self.corrupt.add(hash_hex)
            self.damage(key, f"object {hash_hex} at offset {offset} is {reason} ({needed})")


def _runs(items: list[tuple[str, Location]]) -> Iterable[list[tuple[str, Location]]]:
    """Objects sorted by offset, grouped into runs with less than _MAX_GAP bytes between neighbours."""
    run: list[tuple[str, Location]] = []
    for item in items:
        if run and item[1][1] - (run[-1][1][1] + run[-1][1][2]) >= _MAX_GAP:
            yield run
            run = []
        run.append(item)
    if run:
        yield run


def _types(data: dict[str, Any] | None) -> Iterable[tuple[str, Any]]:
    types = data.get("types") if data is not None else None
    return sorted(types.items()) if isinstance(types, dict) else []


def _record_problems(key: str, name_id: str, data: dict[str, Any], body: bytes) -> Iterable[str]:
    """What is wrong with a parsed snapshot record, apart from its place in the chain."""
    version = data.get("format")
    if version != RECORD_FORMAT:
        yield f"snapshot record has format {version!r}; this entrasnap reads format {RECORD_FORMAT}"
    if data.get("id") != name_id:
        yield (
            f"the file is named for snapshot {name_id} but holds snapshot {data.get('id')!r} "
            "(records moved or swapped)"
        )
    started = data.get("started")
    try:
        expected = record_key(parse_time(started), name_id) if isinstance(started, str) else None
    except ValueError:
        expected = None
    if expected is None:
        yield f"snapshot record damaged: started {started!r} is not a time"
    elif expected != key and data.get("id") == name_id:
        yield f"the file name's time does not match started {started} (record renamed?)"
    types = data.get("types")
    if not isinstance(types, dict):
        yield "snapshot record damaged: no types"
    else:
        bad = sorted(
            k for k, i in types.items() if not isinstance(i, dict) or i.get("status") not in TYPE_STATUSES
        )
        if bad:
            yield f"snapshot record damaged: types {', '.join(bad)} have no valid status"
    try:
        canonical = canonical_bytes(data) == body
    except ValueError:
        canonical = False
    if not canonical:
        yield "snapshot record is not in canonical form (edited after it was written?)"
