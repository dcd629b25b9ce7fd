"""`entrasnap check` speed and memory on a repository of many snapshots.

Builds (once, cached in --repo) DAYS daily snapshots of OBJECTS user-like records with PERCENT churn a
day through the store API (unchanged objects kept by hash, as incremental snapshots do), then runs
`python -m entrasnap.cli check` and `check --read-data` as separate processes (wall time, peak RSS)
beside a lower bound for --read-data: one process that reads every pack file and decompresses and
re-hashes every object in it, nothing else.

    .venv/bin/python bench/check.py --repo /tmp/bench-check [--objects 200000 --days 30 --percent 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
import zlib
from pathlib import Path

from entrasnap.store import LocalBackend, Repository
from entrasnap.store.codec import PLAIN
from entrasnap.store.pack import read_trailer


def record(i: int, version: int) -> dict[str, object]:
    oid = f"{i:08x}-0000-4000-8000-{i:012x}"
    return {
        "id": oid,
        "object": {
            "id": oid,
            "displayName": f"User {i} v{version}",
            "userPrincipalName": f"user{i}@contoso.example",
            "jobTitle": random.choice(["Engineer", "Analyst", "Manager", "Director"]),
            "department": f"Department {i % 97}",
            "accountEnabled": True,
            "proxyAddresses": [f"SMTP:user{i}@contoso.example", f"smtp:u{i}@contoso.example"],
            "version": version,
        },
    }


def build(root: Path, objects: int, days: int, percent: float) -> dict[str, float]:
    started = time.monotonic()
    repo = Repository.init(LocalBackend(root, fsync=False))
    versions = [0] * objects
    hashes: dict[int, str] = {}
    for day in range(days):
        writer = repo.writer({"tenant": {"id": "t1"}, "started": f"2026-01-{day + 1:02d}T02:00:00Z"})
        changed = (
            set(range(objects))
            if day == 0
            else set(random.sample(range(objects), int(objects * percent / 100)))
        )
        for i in range(objects):
            if i in changed:
                versions[i] += 1 if day else 0
                hashes[i] = repo.put(record(i, versions[i]))
            writer.add_existing("users", f"{i:08x}-0000-4000-8000-{i:012x}", hashes[i], check=False)
        writer.finish_type("users", "ok")
        writer.commit("complete", {})
    return {"buildSeconds": round(time.monotonic() - started, 1)}


def timed(*args: str) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    command = [sys.executable, "-m", "entrasnap.cli", *args]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return {
        "seconds": round(seconds, 2),
        "cpuSeconds": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
        "peakRssMiB": round(after.ru_maxrss / 1024, 1),
        "report": json.loads(result.stdout),
    }


def lower_bound(root: Path) -> dict[str, float]:
    """Read every pack, decompress and sha256 every object: the least --read-data can do."""
    started, cpu = time.monotonic(), time.process_time()
    objects = 0
    for directory, _, files in os.walk(root / "data"):
        for name in files:
            data = (Path(directory) / name).read_bytes()
            for h, offset, length in read_trailer(data, PLAIN):
                if hashlib.sha256(zlib.decompress(data[offset : offset + length])).hexdigest() != h:
                    raise SystemExit(f"damaged object {h}")
                objects += 1
    return {
        "seconds": round(time.monotonic() - started, 2),
        "cpuSeconds": round(time.process_time() - cpu, 2),
        "objects": objects,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--objects", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--percent", type=float, default=1.0)
    args = parser.parse_args()
    random.seed(1)
    facts: dict[str, object] = {"objects": args.objects, "days": args.days, "percent": args.percent}
    if not (args.repo / "config.json").exists():
        facts.update(build(args.repo, args.objects, args.days, args.percent))
    structure = timed("check", "--store", str(args.repo), "--json")
    deep = timed("check", "--store", str(args.repo), "--read-data", "--json")
    bound = lower_bound(args.repo)
    report = deep.pop("report")
    structure.pop("report")
    facts.update(
        {
            "packs": report["packs"],
            "packMiB": round(report["packBytes"] / 2**20, 1),
            "objectsStored": report["objectsIndexed"],
            "check": structure,
            "checkReadData": deep,
            "lowerBoundReadData": bound,
            "readDataVsLowerBound": round(deep["seconds"] / bound["seconds"], 2),
            "readDataVsLowerBoundCpu": round(deep["cpuSeconds"] / bound["cpuSeconds"], 2),
        }
    )
    print(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
