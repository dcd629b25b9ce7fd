"""The collector overlaps what does not depend on each other: a list's pages with their children, a parent
type with the types scoped by it. Each test holds a request back until the overlapping one arrives: a
collector that waited instead would never send it (the hold gives up after a while and the test fails)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType
from entrasnap.collect import Options
from entrasnap.collect.engine import EXPANDED_LIMIT, NoProgress, ParentFeed
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.graph import GraphClient, StaticToken
from entrasnap.graph.client import BATCH_SIZE
from entrasnap.services.snapshot import take_snapshot
from entrasnap.store import LocalBackend, Repository

GIVE_UP = 20.0  # seconds a held request waits for the one that should overlap it


class Holding(httpx.AsyncBaseTransport):
    """Holds the requests ``held`` picks until one that ``awaited`` picks has been sent; notes the ids of
    the first page of the group list (``first``) and the groups whose member list the list cut at Graph's
    expand cap (``capped``: their lists come from the delta round, so they wait for it)."""

    def __init__(
        self, held: Callable[[httpx.Request], bool], awaited: Callable[[httpx.Request], bool]
    ) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.held, self.awaited = held, awaited
        self.arrived = asyncio.Event()
        self.first: set[str] = set()
        self.capped: set[str] = set()
        self.holds = 0
        self.gave_up = 0

    async def hold(self, request: httpx.Request) -> None:
        if self.awaited(request):
            self.arrived.set()
        elif self.held(request) and not self.arrived.is_set():
            self.holds += 1
            try:
                await asyncio.wait_for(self.arrived.wait(), GIVE_UP)
            except TimeoutError:
                self.gave_up += 1
                self.arrived.set()  # the test has failed: hold nothing more

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.hold(request)
        response = await self.inner.handle_async_request(request)
        if _groups_list_page(request):
            body = await response.aread()
            groups = json.loads(body)["value"]
            if "skiptoken" not in str(request.url):
                self.first = {str(g["id"]) for g in groups}
            self.capped.update(str(g["id"]) for g in groups if len(g.get("members", [])) >= EXPANDED_LIMIT)
            return httpx.Response(response.status_code, headers=response.headers, content=body)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _snapshot(
    fg: RunningFakeGraph, store: Path, keys: list[str], transport: Holding, *, from_delta: bool = True
) -> dict[str, object]:
    """A snapshot of ``keys`` through ``transport``: the group list (S: 40 groups) in pages of a whole $batch
    of parents for the scoped types, without member lists from /groups/delta unless ``from_delta``."""
    types = catalog.resolve(keys)
    groups = replace(
        catalog.BY_KEY["groups"],
        page_size=BATCH_SIZE,
        children=tuple(
            c if from_delta else replace(c, from_delta=False) for c in catalog.BY_KEY["groups"].children
        ),
    )
    # every group is a parent (none left out as dynamic): a page of groups is a whole $batch of parents
    types = [groups if t.key == "groups" else _every_group(t) for t in types]

    async def go() -> dict[str, object]:
        async with GraphClient(fg.url, StaticToken(fg.token()), transport=transport) as client:
            repository = Repository.open(LocalBackend(store), create=True)
            outcome = await take_snapshot(
                client, repository, types, tenant_hint=fg.tenant_id, options=Options()
            )
        return outcome.record.data

    return asyncio.run(go())


def _every_group(rtype: ResourceType) -> ResourceType:
    return replace(rtype, parent=replace(rtype.parent, unless=())) if rtype.parent else rtype


def _is_batch_for(request: httpx.Request, text: str) -> bool:
    return request.url.path.endswith("/$batch") and text.encode() in request.content


def _later_groups_page(request: httpx.Request) -> bool:
    """A page of the group list after the first (it has a $skiptoken)."""
    url = str(request.url)
    return request.method == "GET" and request.url.path.endswith("/groups") and "skiptoken" in url


def _batch_about(request: httpx.Request, child: str, ids: set[str], first: bool) -> bool:
    """A $batch with ``child`` requests for groups of the first page (``first``) or of another one."""
    if not request.url.path.endswith("/$batch"):
        return False
    urls = [r["url"] for r in json.loads(request.content)["requests"] if child in r["url"]]
    return any((url.split("/")[2] in ids) == first for url in urls)


def test_children_of_a_page_are_read_while_the_next_pages_arrive(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    """The first page's group settings are held until settings of another page's groups are asked for."""
    transport: Holding = Holding(
        lambda r: _batch_about(r, "/settings", transport.first, True),
        lambda r: _batch_about(r, "/settings", transport.first, False),
    )
    record = _snapshot(fakegraph, tmp_path / "s", ["groups"], transport)

    assert record["status"] == "complete"
    assert transport.holds > 0 and transport.gave_up == 0


def test_scoped_types_read_their_parents_while_the_parent_type_is_read(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    """Every group list page after the first is held until PIM for groups is asked about a group (member
    lists read per group: the list is the only read of the groups)."""
    keys = ["groups", "groupEligibilitySchedules", "groupAssignmentSchedules"]
    transport = Holding(_later_groups_page, lambda r: _is_batch_for(r, "privilegedAccess/group"))
    record = _snapshot(fakegraph, tmp_path / "s", keys, transport, from_delta=False)

    assert record["status"] == "complete"
    assert transport.holds > 0 and transport.gave_up == 0
    types = record["types"]
    assert isinstance(types, dict)
    assert types["groups"]["count"] == len(list(fakegraph.store.sets["groups"].after()))
    assert all(types[k]["status"] == "ok" for k in keys)


def _groups_list_page(request: httpx.Request) -> bool:
    return request.method == "GET" and request.url.path.endswith("/groups")


def test_scoped_types_start_on_the_objects_of_the_initial_delta_round(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    """A full read of groups starts with the initial round of /groups/delta (for the member lists): PIM for
    groups reads its groups from it, before the group list is asked for at all."""
    keys = ["groups", "groupEligibilitySchedules"]
    assert any(c.from_delta for c in catalog.BY_KEY["groups"].children)
    transport = Holding(_groups_list_page, lambda r: _is_batch_for(r, "privilegedAccess/group"))
    record = _snapshot(fakegraph, tmp_path / "s", keys, transport)

    assert record["status"] == "complete"
    assert transport.holds > 0 and transport.gave_up == 0


def _later_delta_page(request: httpx.Request) -> bool:
    return request.url.path.endswith("/groups/delta") and "token" in str(request.url)


def test_groups_waiting_for_the_delta_round_have_their_other_lists_read_meanwhile(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    """The delta round's pages after the first are held until the settings of a group that waits for the
    round (its member list cut on the group list) are asked for: a collector reading them only once the
    round has ended would never ask."""
    httpx.post(f"{fakegraph.url}/_fakegraph/delta", json={"memberSlice": 5}).raise_for_status()
    transport = Holding(_later_delta_page, lambda r: _batch_about(r, "/settings", transport.capped, True))
    record = _snapshot(fakegraph, tmp_path / "s", ["groups"], transport)

    assert transport.capped, "fakegraph S has groups of at least 20 members"
    assert record["status"] == "complete"
    assert transport.holds > 0 and transport.gave_up == 0
    repository = Repository.open(LocalBackend(tmp_path / "s"))
    (snapshot,) = repository.snapshots()
    stored = {oid: repository.get(digest) for oid, digest in repository.entries(snapshot, "groups")}
    for oid in transport.capped:  # complete lists, from the round
        members = stored[oid]["children"]["members"]
        assert members == sorted(fakegraph.store.linked("groups/members", oid))
        assert len(members) >= EXPANDED_LIMIT


class FailingLaterPages(Holding):
    """Answers the pages of the group list after the first with an error Graph does not retry (once held)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _later_groups_page(request):
            await self.hold(request)
            return httpx.Response(400, json={"error": {"code": "BadRequest", "message": "no"}})
        return await super().handle_async_request(request)


def test_a_scoped_type_whose_parent_type_fails_midway_fails_too(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    """The PIM types have read the first page's groups when the group list fails: incomplete, so an error."""
    keys = ["groups", "groupEligibilitySchedules"]
    transport = FailingLaterPages(_later_groups_page, lambda r: _is_batch_for(r, "privilegedAccess/group"))
    record = _snapshot(fakegraph, tmp_path / "s", keys, transport, from_delta=False)

    types = record["types"]
    assert isinstance(types, dict)
    assert transport.holds > 0 and transport.gave_up == 0  # it did read the first page's groups
    assert types["groups"]["status"] == types["groupEligibilitySchedules"]["status"] == "error"
    assert "depends on groups" in str(types["groupEligibilitySchedules"]["error"])


async def test_a_parent_feed_hands_out_full_batches_until_it_is_closed() -> None:
    """Scoped types read their parents in lists of whole $batches (20) as they arrive, the rest at the end."""
    feed = ParentFeed()
    for n in range(45):
        feed.add({"id": str(n)})
    feed.add({"id": "3"})  # once per id
    lists = feed.batches(200)
    assert len(await anext(lists)) == 40
    waiting = asyncio.ensure_future(anext(lists))
    for n in range(45, 59):
        feed.add({"id": str(n)})
    await asyncio.sleep(0)
    assert not waiting.done()  # 19 waiting: not a whole $batch yet
    feed.add({"id": "59"})
    assert [p["id"] for p in await waiting] == [str(n) for n in range(40, 60)]
    feed.add({"id": "60"})
    feed.close()
    assert [p["id"] for p in await anext(lists)] == ["60"]
    assert [x async for x in lists] == []


class _Started(NoProgress):
    def __init__(self) -> None:
        self.order: list[str] = []

    def started(self, rtype: ResourceType) -> None:
        self.order.append(rtype.key)


async def test_change_tracked_types_start_first(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    """The directory's large collections (those Graph tracks changes of) start before the small types, so
    that the small ones fill the time their page chains take instead of lengthening the snapshot."""
    types = catalog.resolve(["organization", "namedLocations", "users", "domains", "groups"])
    progress = _Started()
    async with GraphClient(fakegraph.url, StaticToken(fakegraph.token())) as client:
        repository = Repository.open(LocalBackend(tmp_path / "s"), create=True)
        outcome = await take_snapshot(
            client,
            repository,
            types,
            tenant_hint=fakegraph.tenant_id,
            options=Options(type_concurrency=1),
            progress=progress,
        )
    assert outcome.record.data["status"] == "complete"
    assert [key for key in progress.order if key in {t.key for t in types}][:2] == ["users", "groups"]
