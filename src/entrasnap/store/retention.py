"""``forget``: which snapshots a keep-policy keeps (restic's rules, per tenant, in UTC), and removing the rest.

A snapshot is removed by deleting its record, after writing a tombstone ``forgotten/<sequence>.json``
that stands in for it in the record chain (docs/FORMAT.md, "Retention and prune"). The objects it
alone used stay until ``prune``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from entrasnap.store.canonical import canonical_bytes
from entrasnap.store.codec import DamagedError
from entrasnap.store.errors import NotFoundError, StoreError
from entrasnap.store.record import SnapshotRecord, format_time
from entrasnap.store.repository import Repository

FORGOTTEN_PREFIX = "forgotten/"
TOMBSTONE_FORMAT = 1
ALL = -1
"""A --keep-* count meaning: every bucket of that kind."""


def tombstone_key(sequence: int) -> str:
    return f"{FORGOTTEN_PREFIX}{sequence:010d}.json"


@dataclass(frozen=True)
class Policy:
    """How many of each kind to keep (0: none of that kind, ALL: every one)."""

    last: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0

    def empty(self) -> bool:
        return not any((self.last, self.daily, self.weekly, self.monthly, self.yearly))

    def describe(self) -> str:
        parts = [f"{'all' if n == ALL else n} {name}" for name, n in self.rules() if n]
        return "keep " + ", ".join(parts) if parts else "an empty policy"

    def rules(self) -> list[tuple[str, int]]:
        return [
            ("last", self.last),
            ("daily", self.daily),
            ("weekly", self.weekly),
            ("monthly", self.monthly),
            ("yearly", self.yearly),
        ]


_BUCKETS: dict[str, Callable[[datetime, int], tuple[int, ...]]] = {
    "last": lambda t, nr: (nr,),
    "daily": lambda t, nr: (t.year, t.month, t.day),
    "weekly": lambda t, nr: t.isocalendar()[:2],
    "monthly": lambda t, nr: (t.year, t.month),
    "yearly": lambda t, nr: (t.year,),
}


@dataclass
class Decision:
    """One tenant's snapshots under a policy: kept (with reasons) and removed, newest first."""

    tenant: str
    keep: list[tuple[SnapshotRecord, list[str]]] = field(default_factory=list)
    remove: list[SnapshotRecord] = field(default_factory=list)


def apply_policy(
    records: Sequence[SnapshotRecord], policy: Policy
) -> tuple[list[tuple[SnapshotRecord, list[str]]], list[SnapshotRecord]]:
    """restic's ApplyPolicy: newest first, a snapshot is kept by each rule with count left whose bucket
    (day, ISO week, month, year of ``started`` in UTC) differs from the last one that rule kept; the
    oldest snapshot is also kept by every rule with count left. Returns (kept with reasons, removed)."""
    if policy.empty():
        raise StoreError("an empty policy would remove every snapshot: give at least one --keep-* option")
    ordered = sorted(records, key=lambda r: (r.started, r.id), reverse=True)
    counts = dict(policy.rules())
    last: dict[str, tuple[int, ...] | None] = dict.fromkeys(counts)
    keep: list[tuple[SnapshotRecord, list[str]]] = []
    remove: list[SnapshotRecord] = []
    for nr, record in enumerate(ordered):
        moment = record.started.astimezone(UTC)
        reasons = []
        for name, count in counts.items():
            if count == 0:
                continue
            bucket = _BUCKETS[name](moment, nr)
            if bucket != last[name] or nr == len(ordered) - 1:
                last[name] = bucket
                counts[name] = count - 1 if count > 0 else count
                reasons.append("last snapshot" if name == "last" else f"{name} snapshot")
        if reasons:
            keep.append((record, reasons))
        else:
            remove.append(record)
    return keep, remove


def matches_tenant(record: SnapshotRecord, tenant: str | None) -> bool:
    """Whether a record is of ``tenant`` (id or primary domain, any case); True when tenant is None."""
    if tenant is None:
        return True
    wanted = tenant.lower()
    return wanted in (str(record.tenant.get("id")).lower(), str(record.tenant.get("domain") or "").lower())


def plan(repository: Repository, policy: Policy, tenant: str | None = None) -> list[Decision]:
    """The policy applied to each tenant's snapshots (only ``tenant``'s, id or domain, when given)."""
    by_tenant: dict[str, list[SnapshotRecord]] = {}
    for record in repository.snapshots():
        by_tenant.setdefault(str(record.tenant.get("id")), []).append(record)
    if tenant is not None:
        by_tenant = {k: records for k, records in by_tenant.items() if matches_tenant(records[-1], tenant)}
        if not by_tenant:
            raise StoreError(f"repository {repository.backend} holds no snapshot of tenant {tenant!r}")
    decisions = []
    for key, records in sorted(by_tenant.items()):
        name = records[-1].tenant.get("domain") or key
        keep, remove = apply_policy(records, policy)
        decisions.append(Decision(str(name), keep, remove))
    return decisions


def tombstone(record: SnapshotRecord, now: datetime | None = None) -> dict[str, Any]:
    """What stands in a removed record's place in the chain: its sequence, hash and previous."""
    return {
        "format": TOMBSTONE_FORMAT,
        "sequence": record.sequence,
        "id": record.id,
        "key": record.key,
        "hash": record.hash,
        "previous": record.previous,
        "tenant": record.tenant.get("id"),
        "started": record.data.get("started"),
        "forgotten": format_time(now or datetime.now(UTC)),
        "by": socket.gethostname(),
    }


def forget(repository: Repository, records: Sequence[SnapshotRecord]) -> None:
    """Remove snapshots: every tombstone first (create-only), then the records.

    A crash in between leaves records beside their tombstones: still a valid chain (a present
    record wins), and the next forget removes them. Never removes the chain's head.
    """
    head, _ = repository.chain_head()
    for record in records:
        if record.sequence < 1 or record.sequence == head:
            raise StoreError(f"snapshot {record.id} heads the record chain (or has no sequence): not removed")
    for record in records:
        key = tombstone_key(record.sequence)
        stored = repository.codec.seal_record(canonical_bytes(tombstone(record)))  # stored as records are
        if not repository.backend.create(key, stored):
            _check_existing(repository, key, record)
    for record in records:
        repository.backend.delete(record.key)


def _check_existing(repository: Repository, key: str, record: SnapshotRecord) -> None:
    """A tombstone already there (an interrupted forget) must name the same record."""
    try:
        existing = orjson.loads(repository.codec.unseal_record(repository.backend.read(key)))
    except (NotFoundError, DamagedError, orjson.JSONDecodeError) as exc:
        raise StoreError(f"tombstone {key} in {repository.backend} is unreadable: {exc}") from exc
    if not isinstance(existing, dict) or existing.get("hash") != record.hash:
        raise StoreError(
            f"tombstone {key} in {repository.backend} names another record than snapshot {record.id} "
            f"(sequence {record.sequence}): run `entrasnap check`"
        )
