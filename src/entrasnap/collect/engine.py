"""Read catalog types from Graph and stream their objects, with children, to a sink.

Every type ends with a status (ok, forbidden, unlicensed, unavailable, error): a failed read is never
mistaken for an empty one. Objects flow to the sink page by page, so memory stays bounded by a page
and its children, whatever the tenant's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Container, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import orjson

from entrasnap.catalog.model import Child, Inverse, ResourceType
from entrasnap.collect.incremental import (
    DEFAULT_FULL_EVERY,
    Baseline,
    Plan,
    delta_params,
    expired,
    plan,
    shape,
)
from entrasnap.collect.status import TypeFailure, classify
from entrasnap.graph import BatchItem, BatchResult, GraphClient, GraphRequestError
from entrasnap.graph.client import BATCH_SIZE

JSON = dict[str, Any]
RESPONSE_METADATA = frozenset(("@odata.context", "@odata.nextLink", "@odata.deltaLink", "@odata.count"))
# $expand on directory objects: list pages of at most 100 objects, at most 20 expanded objects per relationship
# and no nextLink for the rest (https://learn.microsoft.com/en-us/graph/query-parameters#expand-parameter,
# https://developer.microsoft.com/en-us/graph/known-issues/?search=13635). A list that reached the cap is read
# again per parent.
EXPAND_PAGE_SIZE = 100
EXPANDED_LIMIT = 20
STORE_TURN = 0.005  # seconds of storing a page before other work on the event loop gets a turn
PAGES_IN_FLIGHT = 3  # pages of one type read on (children, scoped reads) at the same time
KEPT_AT_ONCE = 200
KEPT_CHILD_IDS = 20_000
"""An incremental read refreshes kept objects KEPT_AT_ONCE at a time, fewer when their stored child
lists reach KEPT_CHILD_IDS ids."""
Inline = dict[tuple[str, str], list[Any]]  # (object id, child name) -> the child as stored, from $expand


class Sink(Protocol):
    """Where collected objects go (the repository's snapshot writer)."""

    def add(self, type_key: str, object_id: str, record: JSON, name: str | None = None) -> None: ...

    def add_existing(
        self, type_key: str, object_id: str, record_hash: str, name: str | None = None
    ) -> None: ...

    def finish_type(
        self,
        type_key: str,
        status: str,
        *,
        error: JSON | None = None,
        children: dict[str, int] | None = None,
        requests: int = 0,
        scope: str | None = None,
        delta: JSON | None = None,
    ) -> None: ...


class Progress(Protocol):
    """Receives what the collector is doing, for a live display or log lines."""

    def started(self, rtype: ResourceType) -> None: ...

    def advanced(self, rtype: ResourceType, objects: int, requests: int) -> None: ...

    def finished(self, result: TypeResult) -> None: ...


class NoProgress:
    def started(self, rtype: ResourceType) -> None:
        return None

    def advanced(self, rtype: ResourceType, objects: int, requests: int) -> None:
        return None

    def finished(self, result: TypeResult) -> None:
        return None


@dataclass
class TypeResult:
    """How reading one type ended."""

    key: str
    status: str = "ok"
    count: int = 0
    requests: int = 0
    children: dict[str, int] = field(default_factory=dict)
    error: JSON | None = None
    mode: str | None = None  # delta-capable types: "full" or "incremental"
    reason: str | None = None  # why that mode (first, forced, interval, expired, delta...)
    changed: int = 0  # incremental: objects re-read because the delta round named them


@dataclass(frozen=True)
class Options:
    cloud_only: bool = False
    # types read at once (requests in flight are bounded by the client): small types then fill the time the
    # page chains of the large ones take; each large type holds a few pages, so this also bounds memory
    type_concurrency: int = 16
    child_page_size: int = 999
    full: bool = False  # read every type in full, even where a delta link would do
    full_every: timedelta = DEFAULT_FULL_EVERY  # a delta-capable type is read in full at least this often


def _query(params: dict[str, str]) -> str:
    return urlencode(params, quote_via=quote, safe="$,'():=/") if params else ""


def list_request(rtype: ResourceType, options: Options) -> tuple[str, dict[str, str], dict[str, str]]:
    """URL, query and headers that read a type (without its parent scope)."""
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    if rtype.page_size is not None and not rtype.singleton:
        params["$top"] = str(rtype.page_size)
    if rtype.select:
        params["$select"] = ",".join(rtype.select)
    filters = [rtype.filter] if rtype.filter else []
    if options.cloud_only and rtype.cloud_only_filter:
        filters.append(rtype.cloud_only_filter)
        params["$count"] = "true"
        headers["ConsistencyLevel"] = "eventual"
    if filters:
        params["$filter"] = " and ".join(f"({f})" if len(filters) > 1 else f for f in filters)
    if rtype.expand:
        params["$expand"] = rtype.expand
    if rtype.consistency_eventual:
        headers["ConsistencyLevel"] = "eventual"
    return f"/{rtype.api}{rtype.path}", params, headers


def _with_query(path: str, params: dict[str, str]) -> str:
    return f"{path}?{_query(params)}" if params else path


def object_id(rtype: ResourceType, obj: JSON) -> str:
    value = obj.get(rtype.id_field)
    if value is None and rtype.singleton:
        return rtype.key
    if value is None:
        raise TypeFailure("error", {"message": f"an object of {rtype.key} has no '{rtype.id_field}'"})
    return str(value)


def raw_object(obj: JSON) -> JSON:
    """Graph's object as returned, less the response's own metadata (which describes the response); the
    object itself when it has none (most: a copy of each is ~2% of a snapshot's CPU)."""
    if RESPONSE_METADATA.isdisjoint(obj):
        return obj
    return {k: v for k, v in obj.items() if k not in RESPONSE_METADATA}


@dataclass
class _Kept:
    """The previous snapshot's objects of a type that an incremental read keeps: its entries less the
    changed and removed ids, read from the snapshot again when needed rather than held (an L tenant
    keeps 50,000 devices, 40,000 groups: ~350 bytes an entry)."""

    baseline: Baseline
    type_key: str
    changed: Container[str]
    removed: Container[str]
    count: int = 0

    def __iter__(self) -> Iterator[tuple[str, str, str | None]]:
        return (e for e in self.baseline.entries(self.type_key) if e[0] in self)

    def __contains__(self, oid: object) -> bool:
        """Whether the id is not changed or removed (an object of the previous snapshot is then kept)."""
        return oid not in self.changed and oid not in self.removed


class Collector:
    """Reads the chosen types from one tenant into a sink."""

    def __init__(
        self,
        client: GraphClient,
        sink: Sink,
        options: Options | None = None,
        progress: Progress | None = None,
        baseline: Baseline | None = None,
    ) -> None:
        self.client = client
        self.sink = sink
        self.options = options or Options()
        self.progress: Progress = progress or NoProgress()
        self.baseline = baseline
        self.now = datetime.now(UTC)
        self._parents: dict[str, ParentFeed] = {}  # parent type -> its objects, as scoped types need them
        self._started: dict[str, asyncio.Event] = {}
        self._done: dict[str, asyncio.Event] = {}
        self._results: dict[str, TypeResult] = {}
        self._keep: dict[str, set[str]] = {}
        # links read from the other side (Child.inverse), once per run: object id -> sorted linking ids
        self._inverses: dict[tuple[str, Inverse], asyncio.Future[tuple[dict[str, list[str]], int]]] = {}
        # ResourceType.through: source type -> the types its objects carry; a carried type -> its objects by id
        self._carriers: dict[str, tuple[ResourceType, ...]] = {}
        self._carried: dict[str, dict[str, JSON]] = {}

    async def run(self, types: Sequence[ResourceType]) -> list[TypeResult]:
        """Read every type; results in the given order.

        At most ``type_concurrency`` types are read at once, besides the scoped types: each of those starts
        with its parent type and reads the parents' objects as they arrive (so it keeps pace with it); and
        besides the types read through another type's objects, which start when that type is done.
        """
        self._started = {t.key: asyncio.Event() for t in types}
        self._done = {t.key: asyncio.Event() for t in types}
        self._keep = parents_needed(types)
        self._parents = {key: ParentFeed() for key in self._keep if key in self._started}
        self._carriers = carriers(types)
        limit = asyncio.Semaphore(max(1, self.options.type_concurrency))

        async def one(rtype: ResourceType) -> None:
            if rtype.through is not None and rtype.through.type in self._done:
                await self._done[rtype.through.type].wait()  # its objects come with the source's
                await self._read_one(rtype)
            elif rtype.parent is not None and rtype.parent.type in self._started:
                await self._started[rtype.parent.type].wait()
                await self._read_one(rtype)
            else:
                async with limit:
                    await self._read_one(rtype)

        # The collections Graph tracks changes of are the directory's large ones (users, groups, devices,
        # apps): they start first, so the small types fill the time their page chains take.
        await asyncio.gather(*(one(t) for t in sorted(types, key=lambda t: not t.delta)))
        return [self._results[t.key] for t in types]

    async def _read_one(self, rtype: ResourceType) -> None:
        self._started[rtype.key].set()
        try:
            self._results[rtype.key] = await self.read_type(rtype)
        finally:
            if rtype.key in self._parents:
                self._parents[rtype.key].close()
            self._done[rtype.key].set()

    async def read_type(self, rtype: ResourceType) -> TypeResult:
        result = TypeResult(rtype.key)
        self.progress.started(rtype)
        scope = "cloudOnly" if self.options.cloud_only and rtype.cloud_only_filter else None
        state: JSON | None = None
        try:
            if rtype.through is not None and rtype.through.type in self._done:
                await self._read_through(rtype, result)
            elif rtype.parent is not None:
                await self._read_scoped(rtype, result)
            elif rtype.singleton:
                await self._read_singleton(rtype, result)
            elif rtype.delta:
                state = await self._read_tracked(rtype, result, scope)
            else:
                await self._read_collection(rtype, result)
        except TypeFailure as failure:
            result.status, result.error = failure.status, failure.error
        except GraphRequestError as error:
            result.status, result.error = classify(error.status, error.code, error.message, rtype.permission)
        self.sink.finish_type(
            rtype.key,
            result.status,
            error=result.error,
            children=result.children or None,
            requests=result.requests,
            scope=scope,
            delta=state if result.status == "ok" else None,
        )
        self.progress.finished(result)
        return result

    # --- reading ----------------------------------------------------------------------------------

    async def _read_singleton(self, rtype: ResourceType, result: TypeResult) -> None:
        url, params, headers = list_request(rtype, self.options)
        full = f"{url}?{_query(params)}" if params else url
        result.requests += 1
        obj = await self.client.get(full, headers=headers or None, paced="ca" if rtype.paced else None)
        await self._store_page(rtype, [obj], result)

    async def _read_collection(
        self, rtype: ResourceType, result: TypeResult, waiting: Waiting | None = None
    ) -> None:
        """Every page of the type's list; with ``waiting``, the objects whose child lists the type's initial
        delta round reads wait for it (see ``Waiting``)."""
        url, params, headers = list_request(rtype, self.options)
        expanded = expanded_children(rtype, headers)
        if expanded:
            params = with_expansions(params, expanded)
        params = carrying(params, self._carriers.get(rtype.key, ()))
        full = f"{url}?{_query(params)}" if params else url

        async def pages() -> AsyncGenerator[Coroutine[Any, Any, None]]:
            async with contextlib.aclosing(
                self.client.pages(full, headers=headers or None, paced="ca" if rtype.paced else None)
            ) as listing:
                async for page in listing:
                    result.requests += 1
                    inline = take_expanded(rtype, page, expanded)
                    if waiting is None:
                        yield self._store_page(rtype, page, result, inline)
                    else:
                        yield self._store_or_hold(rtype, page, result, inline, waiting)

        # A page's children are read while the next pages arrive: the list's pages are a chain, and
        # waiting for each page's children would lengthen it.
        await overlapped(pages())
        if waiting is not None:
            await asyncio.wait([waiting.round])
            while waiting.held:
                page, inline = waiting.release(EXPAND_PAGE_SIZE)
                await self._store_page(rtype, page, result, inline)

    async def _store_or_hold(
        self, rtype: ResourceType, page: list[JSON], result: TypeResult, inline: Inline, waiting: Waiting
    ) -> None:
        """Store the objects of ``page`` whose lists are known; hold the others for the delta round, with
        their other child lists read now: the objects held until the round ends are then stored without
        another request, instead of reading their children after the round, page after page."""
        held = waiting.unknown(page, inline)
        others = tuple(c for c in rtype.children if c not in waiting.children)
        if held and others:
            early = TypeResult(rtype.key)  # counted once, when the objects are stored
            lists, vanished = await self._children(rtype, held, early, only=others, inline=inline)
            result.requests += early.requests
            inline.update(lists)
            page = [obj for obj in page if object_id(rtype, obj) not in vanished]
        await self._store_page(rtype, waiting.ready(page, inline), result, inline)

    # --- delta-capable types --------------------------------------------------------------------

    async def _read_tracked(self, rtype: ResourceType, result: TypeResult, scope: str | None) -> JSON | None:
        """Read a change-tracked type in full or from its delta link; returns its new delta state."""
        previous = self.baseline.type_info(rtype.key) if self.baseline is not None else None
        chosen = plan(
            rtype,
            previous,
            scope=scope,
            force_full=self.options.full,
            full_every=self.options.full_every,
            now=self.now,
        )
        if chosen.mode == "incremental" and chosen.link is not None:
            try:
                changed, removed, link = await self._delta_round(chosen.link, result)
            except GraphRequestError as error:
                if not expired(error.status, error.code):
                    raise
                chosen = Plan("full", "expired")
            else:
                result.mode, result.reason = "incremental", chosen.reason
                await self._apply_changes(rtype, result, changed, removed)
                return self._state(rtype, link, str(chosen.full), "incremental")
        result.mode, result.reason = "full", chosen.reason
        initial = tuple(c for c in rtype.children if c.from_delta)
        if not initial:
            latest = await self._latest_link(rtype, result)
            await self._read_collection(rtype, result)
        else:
            latest = await self._read_with_initial_round(rtype, initial, result)
        return self._state(rtype, latest, self.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "full")

    def _state(self, rtype: ResourceType, link: str | None, full: str, mode: str) -> JSON | None:
        if link is None:
            return None
        return {"link": link, "full": full, "mode": mode, "shape": shape(rtype)}

    async def _latest_link(self, rtype: ResourceType, result: TypeResult) -> str | None:
        """A delta link from now (``$deltatoken=latest``), taken before the full read so no change is missed.

        Entra resources support "sync from now": one request, no objects. A failure only means the next
        snapshot reads this type in full again.
        """
        query = {**delta_params(rtype), "$deltatoken": "latest"}
        result.requests += 1
        try:
            body = await self.client.get(f"/{rtype.api}{rtype.path}/delta?{_query(query)}")
        except GraphRequestError:
            return None
        link = body.get("@odata.deltaLink") if isinstance(body, dict) else None
        return str(link) if link else None

    async def _read_with_initial_round(
        self, rtype: ResourceType, children: tuple[Child, ...], result: TypeResult
    ) -> str | None:
        """A full read whose ``children`` come from the type's initial delta round, read alongside the list
        (begun first, so its delta link misses nothing the list shows); the round's delta link.

        If the round fails at once, a delta link from now is taken before the list and the children are
        read as without the round; if it fails later, there is no delta link (the next read is full).
        """
        started = asyncio.Event()
        task = asyncio.ensure_future(self._initial_round(rtype, children, result, started))
        await started.wait()
        latest: str | None = None
        if task.done() and task.result()[1] is None:
            latest = await self._latest_link(rtype, result)
        _, _, headers = list_request(rtype, self.options)
        if not set(children) <= set(expanded_children(rtype, headers)):
            await asyncio.wait([task])  # the list cannot show them: the round first, nothing waits
        try:
            await self._read_collection(rtype, result, Waiting(rtype, children, task))
        finally:
            task.cancel()
        link, known = task.result()
        return latest if known is None else link

    async def _initial_round(
        self,
        rtype: ResourceType,
        children: tuple[Child, ...],
        result: TypeResult,
        started: asyncio.Event | None = None,
    ) -> tuple[str | None, Inline | None]:
        """The initial round of the type's delta query: its delta link and the ``children`` of every object
        it returns (``<name>@delta``), as stored; (None, None) if the round fails. Its objects are also
        the parents of the type's scoped types, which need not wait for the list read that follows.

        A long list is spread over several pages, each repeating its object with the next part of the list
        (https://learn.microsoft.com/graph/delta-query-groups): the parts are joined. Only ids are kept,
        each id string once however many lists hold it.
        """
        lists: dict[tuple[str, str], list[str]] = {}
        shared: dict[str, str] = {}
        first = f"/{rtype.api}{rtype.path}/delta?{_query(delta_params(rtype))}"
        url: str | None = first
        try:
            while url is not None:
                result.requests += 1
                try:
                    body = await self.client.get(url, urgent=url != first)  # next pages: a chain
                finally:
                    if started is not None:
                        started.set()
                values = body.get("value") if isinstance(body, dict) else None
                if not isinstance(values, list):
                    raise GraphRequestError(
                        200, "UnexpectedResponse", "the answer is not a collection", url=url
                    )
                for item in values:
                    if "@removed" in item or item.get(rtype.id_field) is None:
                        continue
                    oid = str(item[rtype.id_field])
                    self._remember_parent(rtype, oid, item)  # scoped types start on it now
                    for child in children:
                        ids = lists.setdefault((oid, child.name), [])
                        for entry in item.get(f"{child.name}@delta") or ():
                            if isinstance(entry, dict) and "id" in entry and "@removed" not in entry:
                                ids.append(shared.setdefault(str(entry["id"]), str(entry["id"])))
                next_link = body.get("@odata.nextLink")
                url = str(next_link) if next_link else None
        except GraphRequestError:
            return None, None
        link = body.get("@odata.deltaLink")
        if not link:
            return None, None
        for key, ids in lists.items():
            lists[key] = sorted(set(ids))
        return str(link), lists

    async def _delta_round(self, link: str, result: TypeResult) -> tuple[set[str], set[str], str]:
        """Follow a delta link to the end: ids changed (or created), ids removed, the next delta link."""
        changed: set[str] = set()
        removed: set[str] = set()
        url: str | None = link
        while url is not None:
            result.requests += 1
            body = await self.client.get(url, urgent=url != link)
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise GraphRequestError(200, "UnexpectedResponse", "the answer is not a collection", url=url)
            for item in body["value"]:
                oid = str(item.get("id"))
                if "@removed" in item:
                    removed.add(oid)
                    changed.discard(oid)
                else:
                    changed.add(oid)
                    removed.discard(oid)
            next_link = body.get("@odata.nextLink")
            if next_link:
                url = str(next_link)
                continue
            delta_link = body.get("@odata.deltaLink")
            if not delta_link:
                raise GraphRequestError(200, "UnexpectedResponse", "a delta round ended without a deltaLink")
            return changed, removed, str(delta_link)
        raise AssertionError("unreachable")

    async def _apply_changes(
        self, rtype: ResourceType, result: TypeResult, changed: set[str], removed: set[str]
    ) -> None:
        """The previous snapshot's objects, less the removed, with the changed ones re-read as in full."""
        assert self.baseline is not None
        untracked = tuple(c for c in rtype.children if not c.delta)
        keep = self._keep.get(rtype.key)
        kept = _Kept(self.baseline, rtype.key, changed, removed)
        for oid, record_hash, name in self.baseline.entries(rtype.key):
            if oid not in kept:
                continue
            if rtype.children or keep:
                kept.count += 1  # its record is needed (children, parent properties): read again below
            else:
                self.sink.add_existing(rtype.key, oid, record_hash, name)
                self._remember_parent(rtype, oid, {})
                result.count += 1
        result.changed = len(changed)
        await self._reread(rtype, sorted(changed), result)
        await self._refresh_kept(rtype, kept, untracked, result)

    async def _reread(self, rtype: ResourceType, ids: list[str], result: TypeResult) -> None:
        """GET each object by id with the list's $select/$expand (in $batch), then its children; 404: gone."""
        _, params, headers = list_request(rtype, self.options)
        query = {k: v for k, v in params.items() if k in ("$select", "$expand")}
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            items = [
                BatchItem(
                    oid, "GET", _with_query(f"{rtype.path}/{quote(oid, safe='')}", query), dict(headers)
                )
                for oid in chunk
            ]
            answers = await self.client.batch(items, version=rtype.api)
            result.requests += len(items)
            page: list[JSON] = []
            for answer in answers:
                if answer.status == 404:
                    continue  # deleted after the delta round
                if answer.status >= 400:
                    raise _failure(answer, rtype.permission)
                if not isinstance(answer.body, dict):
                    continue
                page.append(answer.body)
            await self._store_page(rtype, page, result)

    async def _refresh_kept(
        self,
        rtype: ResourceType,
        kept: _Kept,
        untracked: tuple[Child, ...],
        result: TypeResult,
    ) -> None:
        """Kept objects whose untracked children must be read again (or whose properties scoped types need)."""
        assert self.baseline is not None
        if not kept.count:
            return
        inline = await self._expanded_lists(rtype, untracked, kept, result)
        entries = iter(kept)
        while chunk := self._kept_records(entries):
            objects = [rec["object"] for _, rec in chunk]
            fresh, vanished = (
                await self._children(rtype, objects, result, untracked, inline=inline)
                if untracked
                else ({}, set())
            )
            for (oid, record_hash, name), rec in chunk:
                if oid in vanished:
                    continue
                children = dict(rec.get("children") or {})
                children.update({c.name: fresh.get((oid, c.name), []) for c in untracked})
                for child in (c for c in rtype.children if c not in untracked):  # _children counted those
                    count = len(children.get(child.name, []))
                    result.children[child.name] = result.children.get(child.name, 0) + count
                if untracked:
                    record: JSON = {
                        "id": oid,
                        "object": rec["object"],
                        "children": {c.name: children.get(c.name, []) for c in rtype.children},
                    }
                    self.sink.add(rtype.key, oid, record, name)
                else:
                    self.sink.add_existing(rtype.key, oid, record_hash, name)
                self._remember_parent(rtype, oid, rec["object"])
                result.count += 1
            self.progress.advanced(rtype, len(chunk), result.requests)

    def _kept_records(
        self, entries: Iterator[tuple[str, str, str | None]]
    ) -> list[tuple[tuple[str, str, str | None], JSON]]:
        """The next kept entries with their records: 200, or fewer once they hold ``KEPT_CHILD_IDS`` child
        ids (an L tenant's 200 administrative units hold a million member ids: ~100 MB at once)."""
        assert self.baseline is not None
        chunk: list[tuple[tuple[str, str, str | None], JSON]] = []
        held = 0
        for entry in entries:
            rec = self.baseline.record(entry[1])
            chunk.append((entry, rec))
            held += sum(len(v) for v in (rec.get("children") or {}).values() if isinstance(v, list))
            if len(chunk) == KEPT_AT_ONCE or held >= KEPT_CHILD_IDS:
                break
        return chunk

    async def _expanded_lists(
        self, rtype: ResourceType, children: tuple[Child, ...], wanted: _Kept, result: TypeResult
    ) -> Inline:
        """The ``Child.expand`` lists of the ``wanted`` objects, from the whole list read with ids only.

        ``$select=id&$expand=<child>``: a page per 100 objects instead of a request per object and child;
        lists that reached Graph's cap are left out (read per object by ``_children``).
        """
        expanded = tuple(c for c in children if c.expand)
        pages = (wanted.count + result.changed) // EXPAND_PAGE_SIZE + 1  # about the whole list's
        if not expanded or wanted.count * len(expanded) <= pages:
            return {}
        params = {"$top": str(EXPAND_PAGE_SIZE), "$select": rtype.id_field}
        if rtype.filter:
            params["$filter"] = rtype.filter
        query = _query(with_expansions(params, expanded))
        inline: Inline = {}
        async for page in self.client.pages(f"/{rtype.api}{rtype.path}?{query}"):
            result.requests += 1
            found = take_expanded(rtype, page, expanded)
            inline.update((key, ids) for key, ids in found.items() if key[0] in wanted)
        return inline

    def _take_carried(self, carried: ResourceType, page: list[JSON]) -> None:
        """Move the expanded objects of ``carried`` out of the source's objects (whose records stay as if
        read alone), each id once."""
        assert carried.through is not None
        name = carried.through.navigation
        kept = self._carried.setdefault(carried.key, {})
        for obj in page:
            value = obj.pop(name, None)
            for key in [k for k in obj if k.startswith(f"{name}@")]:
                del obj[key]
            if isinstance(value, dict):
                kept.setdefault(object_id(carried, value), raw_object(value))

    def _remember_parent(self, rtype: ResourceType, oid: str, obj: JSON) -> None:
        """Note an object scoped types read per parent: only the properties they look at, once per id."""
        keep = self._keep.get(rtype.key)
        feed = self._parents.get(rtype.key)
        if keep is not None and feed is not None and oid not in feed.ids:
            feed.add({"id": oid, **{p: obj.get(p) for p in keep}})

    async def _read_scoped(self, rtype: ResourceType, result: TypeResult) -> None:
        scope = rtype.parent
        assert scope is not None
        feed = self._parents.get(scope.type)
        if feed is None:  # the parent type is not read in this run
            self._check_parent(rtype)
            return
        seen: set[str] = set()

        async def reads() -> AsyncGenerator[Coroutine[Any, Any, None]]:
            chosen: list[JSON] = []  # read in whole $batches while more may come
            async for parents in feed.batches(200):
                self._check_parent(rtype)  # its type failed: stop reading
                chosen += [p for p in parents if scope.applies(p)]
                whole = len(chosen) - len(chosen) % BATCH_SIZE
                if whole:
                    yield self._read_scoped_batch(rtype, chosen[:whole], seen, result)
                    chosen = chosen[whole:]
            if chosen:
                yield self._read_scoped_batch(rtype, chosen, seen, result)

        await overlapped(reads())
        self._check_parent(rtype)

    def _check_parent(self, rtype: ResourceType) -> None:
        """Fail a scoped type whose parent type ended other than ok (or is not read in this run)."""
        assert rtype.parent is not None
        parent, feed = rtype.parent.type, self._parents.get(rtype.parent.type)
        if feed is not None and not feed.closed:
            return
        parent_result = self._results.get(parent)
        if parent_result is None or parent_result.status != "ok":
            raise TypeFailure(
                "error",
                {
                    "message": f"depends on {parent}, which was not captured"
                    + (f" ({parent_result.status})" if parent_result else "")
                },
            )

    async def _read_scoped_batch(
        self, rtype: ResourceType, parents: list[JSON], seen: set[str], result: TypeResult
    ) -> None:
        """The objects of ``rtype`` scoped by each of ``parents`` (in $batch), stored once per id."""
        scope = rtype.parent
        assert scope is not None
        _, params, headers = list_request(rtype, self.options)
        params = carrying(params, self._carriers.get(rtype.key, ()))
        items = []
        for parent in parents:
            query = dict(params)
            own = scope.filter.format(id=parent["id"])
            query["$filter"] = f"{query['$filter']} and {own}" if "$filter" in query else own
            items.append(BatchItem(parent["id"], "GET", f"{rtype.path}?{_query(query)}", dict(headers)))
        answers = await self.client.batch(items, version=rtype.api)
        result.requests += len(items)
        complete = await self._complete(answers, rtype.api, result)
        page: list[JSON] = []
        for answer in answers:
            values = complete[answer.id]
            if isinstance(values, BatchResult):
                raise _failure(values, rtype.permission)
            for obj in values:
                oid = object_id(rtype, obj)
                if oid not in seen:
                    seen.add(oid)
                    page.append(obj)
        await self._store_page(rtype, page, result)

    async def _read_through(self, rtype: ResourceType, result: TypeResult) -> None:
        """The objects that came expanded in the source type's objects (``ResourceType.through``)."""
        assert rtype.through is not None
        source = self._results.get(rtype.through.type)
        if source is None or source.status != "ok":
            status = source.status if source is not None else "error"
            raise TypeFailure(
                status if status != "ok" else "error",
                {
                    **((source.error or {}) if source is not None else {}),
                    "message": f"read through {rtype.through.type}, which was not captured ({status})",
                },
            )
        carried = self._carried.pop(rtype.key, {})
        objects = [carried[oid] for oid in sorted(carried)]
        expanded = tuple(c for c in rtype.children if c.expand)
        for start in range(0, len(objects), EXPAND_PAGE_SIZE):
            page = objects[start : start + EXPAND_PAGE_SIZE]
            await self._store_page(rtype, page, result, take_expanded(rtype, page, expanded))

    async def _complete(
        self,
        answers: list[BatchResult],
        version: str,
        result: TypeResult,
        ids_only: Container[str] = (),
    ) -> dict[str, list[Any] | BatchResult]:
        """Each batch answer's objects with its continuation pages (by answer id), or the answer that failed.

        The ``@odata.nextLink`` pages of all the answers are read together, round by round, each round's
        links in one ``$batch``: collections of P pages cost P sequential round trips, not one per page.
        For the answers named in ``ids_only`` only the objects' ids (str) are kept, page by page, each
        id string once however many lists hold it: a page of a few large collections (an L tenant's
        administrative units: 870,000 members, of 200,000 users) is held as shared ids, not as the
        decoded objects. Each taken answer's body is released.
        """
        out: dict[str, list[Any] | BatchResult] = {}
        links: dict[str, str] = {}
        shared: dict[str, str] = {}
        for answer in answers:
            body = answer.body if isinstance(answer.body, dict) else {}
            _take(answer, list(body.get("value", [])), out, links, shared if answer.id in ids_only else None)
        while links:
            prefix = f"{self.client.base_url}/{version}/"
            items = [
                BatchItem(key, "GET", link[len(prefix) - 1 :], {})
                for key, link in links.items()
                if link.startswith(prefix)
            ]
            pages = await self.client.batch(items, version=version, urgent=True) if items else []
            for key in links.keys() - {item.id for item in items}:  # elsewhere: refused or read alone
                pages.append(BatchResult(key, 200, {}, await self.client.get(links[key], urgent=True)))
            result.requests += len(links)
            for answer in pages:
                body = answer.body
                if answer.status < 400 and (
                    not isinstance(body, dict) or not isinstance(body.get("value"), list)
                ):
                    raise GraphRequestError(200, "UnexpectedResponse", "the answer is not a collection")
                ids = shared if answer.id in ids_only else None
                _take(answer, body["value"] if answer.status < 400 else [], out, links, ids)
        return out

    async def _store_page(
        self, rtype: ResourceType, page: list[JSON], result: TypeResult, inline: Inline | None = None
    ) -> None:
        for carried in self._carriers.get(rtype.key, ()):
            self._take_carried(carried, page)
        children, vanished = (
            await self._children(rtype, page, result, inline=inline) if rtype.children else ({}, set())
        )
        page = [obj for obj in page if object_id(rtype, obj) not in vanished]
        turn = time.perf_counter() + STORE_TURN
        for obj in page:
            oid = object_id(rtype, obj)
            record: JSON = {"id": oid, "object": raw_object(obj)}
            if rtype.children:
                record["children"] = {c.name: children.get((oid, c.name), []) for c in rtype.children}
            name = obj.get(rtype.name_field)
            self.sink.add(rtype.key, oid, record, name if isinstance(name, str) else None)
            self._remember_parent(rtype, oid, obj)
            if time.perf_counter() > turn:  # let answers in meanwhile be taken (and the next pages asked)
                await asyncio.sleep(0)
                turn = time.perf_counter() + STORE_TURN
        result.count += len(page)
        self.progress.advanced(rtype, len(page), result.requests)

    async def _children(
        self,
        rtype: ResourceType,
        page: list[JSON],
        result: TypeResult,
        only: tuple[Child, ...] | None = None,
        inline: Inline | None = None,
    ) -> tuple[dict[tuple[str, str], list[Any]], set[str]]:
        """Every child collection (or those in ``only``) of the objects in ``page``, through $batch unless
        ``inline`` already holds it; and the objects that vanished.

        A child answering 404 means its parent was deleted after its page was read (the parent itself then
        answers 404 too, and is left out as deleted) — or something is wrong, which fails the type rather
        than recording an empty child list.
        """
        out: dict[tuple[str, str], list[Any]] = {}
        missing: dict[str, str] = {}  # parent id -> the child that answered 404
        by_version: dict[str, list[tuple[BatchItem, Child]]] = {}
        wanted = rtype.children if only is None else only
        linked = await self._inverse_maps(rtype, wanted, result) if page else {}
        for obj in page:
            oid = object_id(rtype, obj)
            for child in wanted:
                known = inline.get((oid, child.name)) if inline else None
                if child.name in linked:
                    known = linked[child.name].get(oid, [])
                elif not child.possible(obj):
                    known = []
                if known is not None:
                    out[(oid, child.name)] = known
                    result.children[child.name] = result.children.get(child.name, 0) + len(known)
                    continue
                top = (
                    child.page_size
                    if child.page_size is not None
                    else (self.options.child_page_size if child.kind == "refs" else None)
                )
                params = {"$top": str(top)} if top else {}
                select = (
                    child.select if child.select is not None else (("id",) if child.kind == "refs" else None)
                )
                if select:
                    params["$select"] = ",".join(select)
                item = BatchItem(
                    f"{oid}|{child.name}",
                    "GET",
                    _with_query(child.path.replace("{id}", quote(oid, safe="")), params),
                    {},
                )
                by_version.setdefault(child.api, []).append((item, child))
        for version, pairs in by_version.items():
            answers = await self.client.batch([item for item, _ in pairs], version=version)
            result.requests += len(pairs)
            refs = {item.id for item, child in pairs if child.kind == "refs"}
            complete = await self._complete(answers, version, result, refs)
            for item, child in pairs:
                oid = item.id.rsplit("|", 1)[0]
                values = complete[item.id]
                if isinstance(values, BatchResult):
                    if values.status == 404:
                        missing.setdefault(oid, child.name)
                        continue
                    failure = _failure(values, child.permission or rtype.permission)
                    failure.error.setdefault("child", child.name)
                    raise failure
                stored = (
                    sorted(values)  # ids already
                    if child.kind == "refs"
                    else sorted((raw_object(v) for v in values), key=lambda v: str(v.get("id", "")))
                )
                out[(oid, child.name)] = stored
                result.children[child.name] = result.children.get(child.name, 0) + len(stored)
        vanished = {oid for oid, child in missing.items() if await self._vanished(rtype, oid, child, result)}
        for (oid, name), stored in list(out.items()):
            if oid in vanished:
                result.children[name] -= len(stored)
                del out[(oid, name)]
        return out, vanished

    async def _inverse_maps(
        self, rtype: ResourceType, children: Iterable[Child], result: TypeResult
    ) -> dict[str, dict[str, list[str]]]:
        """For each child read from the other side (``Child.inverse``): parent id -> its sorted child ids.

        Each inverse is read once per run, whichever type needs it first (its requests count there);
        a failed read fails every type that needs it, never leaving the child lists empty.
        """
        maps: dict[str, dict[str, list[str]]] = {}
        for child in children:
            if child.inverse is None:
                continue
            key = (child.api, child.inverse)
            future = self._inverses.get(key)
            first = future is None
            if future is None:
                future = asyncio.ensure_future(self._read_inverse(child.api, child.inverse, child.permission))
                self._inverses[key] = future
            try:
                maps[child.name], requests = await future
            except GraphRequestError as error:
                status, detail = classify(
                    error.status, error.code, error.message, child.permission or rtype.permission
                )
                raise TypeFailure(status, {**detail, "child": child.name}) from None
            except TypeFailure as failure:
                raise TypeFailure(failure.status, {**failure.error, "child": child.name}) from None
            if first:
                result.requests += requests
        return maps

    async def _read_inverse(
        self, api: str, inverse: Inverse, permission: str
    ) -> tuple[dict[str, list[str]], int]:
        """Every object of ``inverse.collection`` and its ``navigation`` (ids): linked id -> sorted ids."""
        counter = TypeResult(inverse.collection)
        holders: list[str] = []
        async for page in self.client.pages(f"/{api}{inverse.collection}?$select=id"):
            counter.requests += 1
            holders += [str(obj.get("id")) for obj in page]
        items = [
            BatchItem(
                holder,
                "GET",
                f"{inverse.collection}/{quote(holder, safe='')}/{inverse.navigation}?$select=id&$top=999",
                {},
            )
            for holder in holders
        ]
        answers = await self.client.batch(items, version=api) if items else []
        counter.requests += len(items)
        complete = await self._complete(answers, api, counter, set(holders))
        linked: dict[str, list[str]] = {}
        for holder in holders:
            values = complete[holder]
            if isinstance(values, BatchResult):
                if values.status == 404:
                    continue  # deleted since the list was read
                raise _failure(values, permission)
            for value in values:
                linked.setdefault(value, []).append(holder)
        return {oid: sorted(set(ids)) for oid, ids in linked.items()}, counter.requests

    async def _vanished(self, rtype: ResourceType, oid: str, child: str, result: TypeResult) -> bool:
        """Whether an object whose child answered 404 is gone; if it is still there, the read failed."""
        result.requests += 1
        try:
            await self.client.get(f"/{rtype.api}{rtype.path}/{quote(oid, safe='')}?$select=id")
        except GraphRequestError as error:
            if error.status == 404:
                return True
            raise
        raise TypeFailure(
            "error",
            {
                "status": 404,
                "code": "Request_ResourceNotFound",
                "child": child,
                "message": f"{child} of {oid} answered 404 while the object exists",
            },
        )


def expanded_children(rtype: ResourceType, headers: dict[str, str]) -> tuple[Child, ...]:
    """The children read through ``$expand`` on the type's list pages (never in advanced queries)."""
    if "ConsistencyLevel" in headers:
        return ()
    return tuple(c for c in rtype.children if c.expand)


def _expansion(child: Child) -> str:
    """``$expand`` for one child: ids of refs, objects with their own $select or Graph's default set."""
    select = ("id",) if child.kind == "refs" else child.select
    return f"{child.name}($select={','.join(select)})" if select else child.name


def with_expansions(params: dict[str, str], children: tuple[Child, ...]) -> dict[str, str]:
    """A list query that also expands ``children``, with the page size Graph allows then."""
    expand = [params["$expand"]] if "$expand" in params else []
    out = {**params, "$expand": ",".join([*expand, *(_expansion(c) for c in children)])}
    if "$top" in out:
        out["$top"] = str(min(int(out["$top"]), EXPAND_PAGE_SIZE))
    return out


@dataclass
class Waiting:
    """The objects of a full read whose ``children`` come from the type's initial delta ``round``, read
    alongside the list (``Child.from_delta``).

    An object is stored as soon as its lists are known: expanded on the list below Graph's cap, or from the
    round once it is complete. The others wait, as compressed JSON, for the round to end; a group the round
    did not see (created since), or every object if the round failed, has its lists read per object.
    """

    rtype: ResourceType
    children: tuple[Child, ...]
    round: asyncio.Future[tuple[str | None, Inline | None]]
    held: list[bytes] = field(default_factory=list)

    def _known(self) -> Inline | None:
        """The round's lists once it has ended well; {} once it has failed (nothing to wait for)."""
        if not self.round.done() or self.round.cancelled() or self.round.exception() is not None:
            return {} if self.round.done() else None
        return self.round.result()[1] or {}

    def unknown(self, page: list[JSON], inline: Inline) -> list[JSON]:
        """The objects of ``page`` that would be held now: some of their lists are neither in ``inline``
        nor known yet."""
        if self._known() is not None:
            return []
        return [obj for obj in page if not self._listed(object_id(self.rtype, obj), inline)]

    def _listed(self, oid: str, inline: Inline) -> bool:
        """Whether every list the round reads is in ``inline`` for the object ``oid``."""
        return all((oid, c.name) in inline for c in self.children)

    def ready(self, page: list[JSON], inline: Inline) -> list[JSON]:
        """The objects of ``page`` to store now (their known lists added to ``inline``); the rest is held."""
        known = self._known()
        out: list[JSON] = []
        for obj in page:
            oid = object_id(self.rtype, obj)
            for child in self.children:
                if known and (oid, child.name) not in inline and (oid, child.name) in known:
                    inline[(oid, child.name)] = known.pop((oid, child.name))
            if known is not None or self._listed(oid, inline):
                out.append(obj)
                continue
            own = {c.name: inline.pop((oid, c.name)) for c in self.rtype.children if (oid, c.name) in inline}
            # compressed (about half the bytes: on L some 20,000 groups wait ten minutes at Graph's pace)
            self.held.append(zlib.compress(orjson.dumps([obj, own]), 1))
        return out

    def release(self, size: int) -> tuple[list[JSON], Inline]:
        """Up to ``size`` held objects, with their lists, once the round has ended."""
        chunk, self.held = self.held[:size], self.held[size:]
        page: list[JSON] = []
        inline: Inline = {}
        for data in chunk:
            obj, own = orjson.loads(zlib.decompress(data))
            oid = object_id(self.rtype, obj)
            inline.update(((oid, name), ids) for name, ids in own.items())
            page.append(obj)
        return self.ready(page, inline), inline


def take_expanded(rtype: ResourceType, page: list[JSON], children: tuple[Child, ...]) -> Inline:
    """Remove the expanded children from the objects of ``page``; the lists below Graph's cap, as stored."""
    inline: Inline = {}
    if not children:
        return inline
    annotations = tuple(f"{child.name}@" for child in children)  # members@odata.nextLink, ...
    for obj in page:
        for key in [k for k in obj if k.startswith(annotations)]:
            del obj[key]
        for child in children:
            value = obj.pop(child.name, None)
            if not isinstance(value, list) or len(value) >= EXPANDED_LIMIT:
                continue  # absent, or maybe cut at the cap: read per parent
            if all(isinstance(v, dict) and "id" in v for v in value):
                inline[(object_id(rtype, obj), child.name)] = (
                    sorted(str(v["id"]) for v in value)
                    if child.kind == "refs"
                    else sorted((raw_object(v) for v in value), key=lambda v: str(v["id"]))
                )
    return inline


def _take(
    answer: BatchResult,
    values: list[JSON],
    out: dict[str, list[Any] | BatchResult],
    links: dict[str, str],
    ids: dict[str, str] | None = None,
) -> None:
    """Add one page (or a failure) to what ``_complete`` gathers, noting the page's nextLink if any; the
    answer's body is released. With ``ids`` (each id -> its one kept copy), only the objects' ids."""
    links.pop(answer.id, None)
    if answer.status >= 400:
        out[answer.id] = answer
        return
    gathered = out.setdefault(answer.id, [])
    assert isinstance(gathered, list)
    if ids is None:
        gathered.extend(values)
    else:
        gathered.extend(ids.setdefault(oid, oid) for oid in (str(v.get("id")) for v in values))
    next_link = answer.body.get("@odata.nextLink") if isinstance(answer.body, dict) else None
    if next_link:
        links[answer.id] = str(next_link)
    answer.body = None


async def overlapped(jobs: AsyncGenerator[Coroutine[Any, Any, None]], limit: int = PAGES_IN_FLIGHT) -> None:
    """Run ``jobs`` as they come, at most ``limit`` at once; the first failure (in order) is raised and
    the other jobs are cancelled."""
    working: deque[asyncio.Future[None]] = deque()
    try:
        async with contextlib.aclosing(jobs):
            async for job in jobs:
                working.append(asyncio.ensure_future(job))
                while len(working) >= limit or (working and working[0].done()):
                    await working.popleft()
        while working:
            await working.popleft()
    finally:
        for future in working:
            future.cancel()
        await asyncio.gather(*working, return_exceptions=True)


class ParentFeed:
    """The objects of a parent type its scoped types read per object, as they are read (once per id)."""

    def __init__(self) -> None:
        self.items: list[JSON] = []
        self.ids: set[str] = set()
        self.closed = False
        self._added = asyncio.Event()

    def add(self, item: JSON) -> None:
        if item["id"] not in self.ids:
            self.ids.add(item["id"])
            self.items.append(item)
            self._wake()

    def close(self) -> None:
        """No more objects: the parent type was read (or failed)."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        self._added.set()
        self._added = asyncio.Event()

    async def batches(self, size: int, unit: int = BATCH_SIZE) -> AsyncIterator[list[JSON]]:
        """Objects in lists of at most ``size``, as soon as ``unit`` of them (a full ``$batch``) have
        arrived, in multiples of ``unit`` until the feed is closed; then the rest."""
        start = 0
        while True:
            added = self._added
            ready = len(self.items) - start
            if not self.closed:
                ready -= ready % unit
            if ready > 0:
                chunk = self.items[start : start + min(size, ready)]
                start += len(chunk)
                yield chunk
            elif self.closed:
                return
            else:
                await added.wait()


def _failure(answer: BatchResult, permission: str) -> TypeFailure:
    """The failure a batch answer with an error status stands for."""
    error = answer.body.get("error", {}) if isinstance(answer.body, dict) else {}
    status, detail = classify(
        answer.status, str(error.get("code", "")), str(error.get("message", "")), permission
    )
    return TypeFailure(status, detail)


def carriers(types: Sequence[ResourceType]) -> dict[str, tuple[ResourceType, ...]]:
    """Source type -> the types read through its objects (``ResourceType.through``), both in ``types``."""
    keys = {t.key for t in types}
    out: dict[str, tuple[ResourceType, ...]] = {}
    for rtype in types:
        if rtype.through is not None and rtype.through.type in keys:
            out[rtype.through.type] = (*out.get(rtype.through.type, ()), rtype)
    return out


def carrying(params: dict[str, str], carried: Iterable[ResourceType]) -> dict[str, str]:
    """A source type's list query that also expands the objects of the types it carries, with their
    ``Child.expand`` children nested: ``$expand=policy($expand=rules)``."""
    expand = [params["$expand"]] if "$expand" in params else []
    for rtype in carried:
        assert rtype.through is not None
        nested = ",".join(_expansion(c) for c in rtype.children if c.expand)
        options = [
            *([f"$select={','.join(rtype.select)}"] if rtype.select else []),
            *([f"$expand={nested}"] if nested else []),
        ]
        expand.append(
            f"{rtype.through.navigation}({';'.join(options)})" if options else rtype.through.navigation
        )
    return {**params, "$expand": ",".join(expand)} if expand else params


def parents_needed(types: Iterable[ResourceType]) -> dict[str, set[str]]:
    """Parent types of scoped types, with the properties their ``only`` conditions read."""
    needed: dict[str, set[str]] = {}
    for rtype in types:
        if rtype.parent is not None:
            needed.setdefault(rtype.parent.type, set()).update(rtype.parent.properties())
    return needed
