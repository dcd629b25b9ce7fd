"""How the collector reads child collections: continuation pages together, expanded children, same records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType
from entrasnap.collect import Options
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.graph import GraphClient
from entrasnap.services.snapshot import take_snapshot
from entrasnap.store import LocalBackend, Repository
from repo_tools import contents

Factory = Callable[..., RunningFakeGraph]


class _Tokens:
    async def token(self, *, refresh: bool = False) -> str:
        return "any"


def _snapshot(
    fg: RunningFakeGraph, store: Path, types: Sequence[ResourceType], options: Options
) -> tuple[Any, int]:
    """A snapshot of ``types`` and the HTTP round trips the fake answered for it."""

    async def go() -> Any:
        async with GraphClient(fg.url, _Tokens()) as client:
            repository = Repository.open(LocalBackend(store), create=True)
            outcome = await take_snapshot(
                client, repository, types, tenant_hint=fg.tenant_id, options=options
            )
        return outcome.record.data

    before = fg.fake.stats.requests
    record = asyncio.run(go())
    return record, fg.fake.stats.requests - before


def test_child_continuation_pages_are_read_together(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    """Small child pages: the same records as one page each, with their nextLinks batched round by round."""
    keys = ["groups", "servicePrincipals"]
    types = catalog.resolve(keys)
    whole, whole_trips = _snapshot(fakegraph, tmp_path / "whole", types, Options())
    paged, paged_trips = _snapshot(fakegraph, tmp_path / "paged", types, Options(child_page_size=3))

    assert paged["status"] == whole["status"] == "complete"
    assert contents(tmp_path / "paged", paged) == contents(tmp_path / "whole", whole)
    continuations = sum(paged["types"][k]["requests"] - whole["types"][k]["requests"] for k in keys)
    assert continuations > 100  # enough members and owners to page
    # One after another, each continuation page would be a round trip of its own.
    assert paged_trips - whole_trips < continuations / 2


def _without_expansion(types: list[ResourceType]) -> list[ResourceType]:
    return [replace(t, children=tuple(replace(c, expand=False) for c in t.children)) for t in types]


def test_expanded_children_equal_per_parent_reads(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    """Owners read through $expand on the list pages, per parent only where Graph's cap of 20 was reached:
    the same records as one request per parent, with far fewer requests."""
    store = fakegraph.store
    users = [u["id"] for u in store.sets["users"].after()]
    devices = [d["id"] for d in store.sets["devices"].after()]
    apps = [a["id"] for a in store.sets["applications"].after()]
    sps = [s["id"] for s in store.sets["servicePrincipals"].after()]
    crowded = [
        ("devices/registeredOwners", devices[0], 25),
        ("devices/registeredUsers", devices[1], 20),  # exactly the cap: cannot tell it from a cut list
        ("devices/registeredOwners", devices[2], 19),
        ("applications/owners", apps[0], 30),
        ("servicePrincipals/owners", sps[0], 21),
    ]
    for link, source, count in crowded:
        for user in users[:count]:
            store.link(link, source, user)
    keys = ["devices", "applications", "servicePrincipals"]
    types = catalog.resolve(keys)
    assert any(c.expand for t in types for c in t.children)

    expanded, _ = _snapshot(fakegraph, tmp_path / "expanded", types, Options())
    per_parent, _ = _snapshot(fakegraph, tmp_path / "per-parent", _without_expansion(types), Options())

    assert expanded["status"] == per_parent["status"] == "complete"
    assert contents(tmp_path / "expanded", expanded) == contents(tmp_path / "per-parent", per_parent)
    for key in keys:
        children = expanded["types"][key].get("children")
        assert children and children == per_parent["types"][key].get("children"), key
    # devices: two requests per device without expansion; with it, a page per 100 and the two crowded ones
    assert per_parent["types"]["devices"]["requests"] >= 2 * len(devices)
    assert expanded["types"]["devices"]["requests"] <= len(devices) // 100 + 1 + 4
