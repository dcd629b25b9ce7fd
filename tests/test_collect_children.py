"""How the collector reads child collections: continuation pages together, expanded children, same records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from entrasnap import catalog
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


def _snapshot(fg: RunningFakeGraph, store: Path, keys: list[str], options: Options) -> tuple[Any, int]:
    """A snapshot of ``keys`` and the HTTP round trips the fake answered for it."""

    async def go() -> Any:
        async with GraphClient(fg.url, _Tokens()) as client:
            repository = Repository.open(LocalBackend(store), create=True)
            outcome = await take_snapshot(
                client, repository, catalog.resolve(keys), tenant_hint=fg.tenant_id, options=options
            )
        return outcome.record.data

    before = fg.fake.stats.requests
    record = asyncio.run(go())
    return record, fg.fake.stats.requests - before


def test_child_continuation_pages_are_read_together(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    """Small child pages: the same records as one page each, with their nextLinks batched round by round."""
    keys = ["groups", "servicePrincipals"]
    whole, whole_trips = _snapshot(fakegraph, tmp_path / "whole", keys, Options())
    paged, paged_trips = _snapshot(fakegraph, tmp_path / "paged", keys, Options(child_page_size=3))

    assert paged["status"] == whole["status"] == "complete"
    assert contents(tmp_path / "paged", paged) == contents(tmp_path / "whole", whole)
    continuations = sum(paged["types"][k]["requests"] - whole["types"][k]["requests"] for k in keys)
    assert continuations > 100  # enough members and owners to page
    # One after another, each continuation page would be a round trip of its own.
    assert paged_trips - whole_trips < continuations / 2
