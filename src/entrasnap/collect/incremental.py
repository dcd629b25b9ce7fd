"""When a type may be read incrementally (from its previous delta link), and what that needs.

A type Graph change-tracks (``ResourceType.delta``) is read in full — which also takes a fresh delta
link — when there is no usable previous state; otherwise its delta round names the objects that
changed, and only those are re-read. The previous state comes from the last snapshot of the tenant
through a ``Baseline`` (the services build it from the repository).

Children: a child with ``Child.delta`` is reported by the parent's delta (``members@delta``); Graph
does not report the others (owners, settings, credentials, policy links...), so an incremental read
reads those again for every object it keeps and never trusts them to be unchanged: ``Child.expand``
children from one pass over the type's list with ids only and ``$expand`` (a page per 100 objects),
``Child.inverse`` children from the linked objects' side (a few requests), the rest per object in $batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson

from entrasnap.catalog.model import ResourceType

JSON = dict[str, Any]
DEFAULT_FULL_EVERY = timedelta(days=7)
EXPIRED_CODES = frozenset({"syncStateNotFound", "resyncRequired", "SyncStateNotFound"})


class Baseline(Protocol):
    """What the previous snapshot of the tenant holds, for incremental reads."""

    def type_info(self, type_key: str) -> JSON | None:
        """The previous snapshot's entry for a type (status, scope, delta...), or None."""
        ...

    def entries(self, type_key: str) -> Iterator[tuple[str, str, str | None]]:
        """(object id, record hash, name) of the type in the previous snapshot."""
        ...

    def record(self, record_hash: str) -> JSON:
        """One stored object record ({"id", "object", "children"?})."""
        ...


@dataclass(frozen=True)
class Plan:
    mode: str  # "full" or "incremental"
    reason: str  # why (for logs): "first", "forced", "interval", "previous-status", "scope", "shape"...
    link: str | None = None
    full: str | None = None  # when the type was last read in full (incremental only)


def delta_params(rtype: ResourceType) -> dict[str, str]:
    """The query of the type's delta round: the catalog's $select plus the children delta reports."""
    if rtype.select is None:
        return {}  # Graph's default set, with its default tracked navigations
    tracked = [c.name for c in rtype.children if c.delta]
    return {"$select": ",".join([*rtype.select, *tracked])}


def shape(rtype: ResourceType) -> str:
    """A fingerprint of everything that decides what a full read stores for the type."""
    spec = {
        "api": rtype.api,
        "path": rtype.path,
        "select": rtype.select,
        "expand": rtype.expand,
        "filter": rtype.filter,
        "id": rtype.id_field,
        "delta": delta_params(rtype),
        "children": [[c.name, c.path, c.kind, c.api, c.select, c.page_size, c.delta] for c in rtype.children],
    }
    return hashlib.sha256(orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def plan(
    rtype: ResourceType,
    previous: JSON | None,
    *,
    scope: str | None,
    force_full: bool,
    full_every: timedelta,
    now: datetime,
) -> Plan:
    """Whether to read ``rtype`` in full or from its previous delta link, and why."""
    if not rtype.delta or rtype.parent is not None or rtype.singleton:
        return Plan("full", "no-delta")
    if force_full:
        return Plan("full", "forced")
    if scope is not None:
        return Plan("full", "scope")  # a filtered read (--cloud-only) cannot follow an unfiltered delta
    if previous is None:
        return Plan("full", "first")
    if previous.get("status") != "ok":
        return Plan("full", "previous-status")
    if previous.get("scope") != scope:
        return Plan("full", "scope")
    state = previous.get("delta")
    if not isinstance(state, dict) or not state.get("link") or not state.get("full"):
        return Plan("full", "no-link")
    if state.get("shape") != shape(rtype):
        return Plan("full", "shape")
    try:
        last_full = datetime.fromisoformat(str(state["full"]).replace("Z", "+00:00"))
    except ValueError:
        return Plan("full", "no-link")
    if now - last_full >= full_every:
        return Plan("full", "interval")
    return Plan("incremental", "delta", str(state["link"]), str(state["full"]))


def expired(status: int, code: str) -> bool:
    """Whether a delta link answer means the token is gone and the type must be read in full."""
    return status == 410 or code in EXPIRED_CODES
