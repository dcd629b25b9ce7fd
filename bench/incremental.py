"""Incremental snapshots (issue 6): resource units of a daily snapshot at 0.5% churn against a full one.

    .venv/bin/python bench/incremental.py --size M [--churn 0.5] [--types delta|all]

Against fakegraph (throttling off, latency scaled down): a full snapshot, ``churn`` on the fake's store, an
incremental snapshot, then a full snapshot of the same state (which must hold the same records); prints the
resource units, requests and wall time of each and the incremental/full ratio. Resource units are what the
fake charged (the client adds up its x-ms-resource-unit headers).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType
from entrasnap.collect import Options
from entrasnap.fakegraph import mutate
from entrasnap.fakegraph.service import RunningFakeGraph, start
from entrasnap.graph import GraphClient, StaticToken
from entrasnap.services.snapshot import Outcome, take_snapshot
from entrasnap.store import LocalBackend, Repository


def snapshot(fake: RunningFakeGraph, repo: Repository, types: list[ResourceType], full: bool) -> Outcome:
    async def run() -> Outcome:
        client = GraphClient(fake.url, StaticToken(fake.token(None)), max_concurrency=16)
        try:
            return await take_snapshot(
                client,
                repo,
                types,
                tenant_hint=fake.tenant_id,
                graph_url=fake.url,
                options=Options(full=full),
            )
        finally:
            await client.aclose()

    return asyncio.run(run())


def line(label: str, outcome: Outcome) -> dict[str, Any]:
    stats = outcome.record.data["stats"]
    row = {"ru": stats["resourceUnits"], "requests": stats["requests"], "seconds": outcome.seconds}
    print(f"{label:<22} {row['ru']:>9,} RU {row['requests']:>8,} requests {row['seconds']:>7.1f} s")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M")
    parser.add_argument("--churn", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--types", choices=("delta", "all"), default="delta")
    args = parser.parse_args()
    types = [t for t in catalog.CATALOG if t.delta] if args.types == "delta" else list(catalog.CATALOG)
    fake = start(size=args.size, seed=args.seed, throttling=False, time_scale=0.01)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            incremental = Repository.open(LocalBackend(Path(tmp) / "inc"), create=True)
            full_repo = Repository.open(LocalBackend(Path(tmp) / "full"), create=True)
            print(f"fakegraph {args.size}, {len(types)} types ({args.types}), churn {args.churn}%")
            line("full (day 1)", snapshot(fake, incremental, types, full=False))
            started = time.monotonic()
            mutate.apply(fake.store, {"action": "churn", "percent": args.churn, "seed": 2})
            print(f"churn applied in {time.monotonic() - started:.1f} s")
            daily = snapshot(fake, incremental, types, full=False)
            inc = line("incremental (day 2)", daily)
            reference = snapshot(fake, full_repo, types, full=True)
            full = line("full (day 2)", reference)
            same = all(
                list(incremental.entries(daily.record, t.key))
                == list(full_repo.entries(reference.record, t.key))
                for t in types
            )
            print(f"day-2 incremental equals day-2 full: {same}")
            print(
                f"incremental / full: {inc['ru'] / full['ru']:.1%} of resource units, "
                f"{inc['requests'] / full['requests']:.1%} of requests, {inc['seconds'] / full['seconds']:.1%} of wall time"
            )
            tracked = [r for r in daily.results if r.mode]
            print(
                "per type:",
                ", ".join(f"{r.key} {r.mode} ({r.changed} changed, {r.requests} req)" for r in tracked),
            )
            print("full (day 2) per type:", ", ".join(f"{r.key} {r.requests} req" for r in reference.results))
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
