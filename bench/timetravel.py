"""Time travel at scale: a year of daily snapshots of fakegraph M, then show/history/diff timed as a user runs them.

    .venv/bin/python bench/timetravel.py --repo /tmp/entrasnap-bench-year          # build (cached) + measure
    .venv/bin/python bench/timetravel.py --repo /tmp/entrasnap-bench-year --verify # also check the derivation

Building (skipped when --repo already holds a complete year built with the same parameters):

1. Day 1 is a real snapshot of fakegraph M (seed 1) taken through the product: ``take_snapshot`` with every
   catalog type over HTTP.
2. Days 2..N: 0.5% churn is applied to the fake tenant (``mutate.apply(..., {"action": "churn"})``, seed =
   day). Re-reading the whole tenant every day would take N x ~4 minutes, so each day's snapshot is
   *derived*: every object the churn touched (the change summary ``mutate.apply`` returns: set, id, and the
   owners of links that changed) is re-read from the fake over HTTP exactly as the collector reads it
   (GET the item with the catalog's $select/$expand in one $batch, then its children through the collector's
   own child reading, ``Collector._store_page``); every other object is kept from the previous snapshot
   (``SnapshotWriter.add_existing``: same record hash, nothing re-encoded). Objects answered 404 are gone.
   Group-scoped types (PIM for groups) drop the entries of deleted groups. ``--verify`` takes one more real,
   full snapshot at the end and compares it object by object with the last derived one.
3. Snapshots are dated one day apart, ending today (day 1 is N-1 days ago).

Measuring: each command runs as its own process (``python -m entrasnap.cli ...``, output to a file, as on a
pipe), ``--repeat`` times; the median wall time and the peak RSS of that process (``os.wait4``) are printed
with the ratio to the issue's target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType
from entrasnap.collect import Collector, TypeResult
from entrasnap.collect.engine import _query, raw_object
from entrasnap.graph import BatchItem, GraphClient, StaticToken
from entrasnap.services.timeline import CachedRepository
from entrasnap.store import LocalBackend, Repository, SnapshotRecord
from entrasnap.store.repository import FORMAT_VERSION, OLDEST_VERSION

SEED = 1
TARGETS = {"show": 0.5, "history": 1.0, "diff": 3.0}
PY = sys.executable

# --- building ----------------------------------------------------------------------------------------


def sidecar(repo_path: Path) -> Path:
    return repo_path.with_name(repo_path.name + ".bench.json")


def day_start(day: int, days: int, today: datetime) -> datetime:
    """Snapshot ``day`` (1-based) starts at 02:00 UTC, ``days - day`` days before today."""
    return today - timedelta(days=days - day)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def types_of_set(set_key: str) -> list[ResourceType]:
    """Catalog types read from a fakegraph entity set (the set key is the Graph path)."""
    return [t for t in catalog.CATALOG if t.parent is None and t.path.lstrip("/") == set_key]


@dataclass
class DayResult:
    touched: int
    gone: int
    requests: int
    seconds: float


class Deriver:
    """Writes day N's snapshot from day N-1's plus fresh reads of what the churn touched."""

    def __init__(self, repo: Repository, client: GraphClient) -> None:
        self.repo = repo
        self.cache = CachedRepository(repo, size=4096)
        self.client = client
        self.collector = Collector(client, self._Sink(self))
        self.writer: Any = None
        self._scoped_parent_field: dict[str, str] = {}
        for rtype in catalog.CATALOG:
            if rtype.parent is not None:
                match = re.search(r"(\w+) eq '\{id\}'", rtype.parent.filter)
                assert match, rtype.parent.filter
                self._scoped_parent_field[rtype.key] = match.group(1)

    class _Sink:
        """The collector's sink: straight into the current writer (finish_type is ours)."""

        def __init__(self, outer: Deriver) -> None:
            self.outer = outer

        def add(self, type_key: str, object_id: str, record: dict[str, Any], name: str | None = None) -> None:
            self.outer.writer.add(type_key, object_id, record, name)

        def finish_type(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("not used")

    async def fetch(self, rtype: ResourceType, ids: list[str]) -> tuple[list[dict[str, Any]], int]:
        """The current objects (those not answered 404), as the collector's list read returns them."""
        params: dict[str, str] = {}
        if rtype.select:
            params["$select"] = ",".join(rtype.select)
        if rtype.expand:
            params["$expand"] = rtype.expand
        headers = {"ConsistencyLevel": "eventual"} if rtype.consistency_eventual else {}
        items = [
            BatchItem(
                oid,
                "GET",
                f"{rtype.path}/{quote(oid, safe='')}" + (f"?{_query(params)}" if params else ""),
                dict(headers),
            )
            for oid in ids
        ]
        answers = await self.client.batch(items, version=rtype.api)
        found = []
        for answer in answers:
            if answer.status == 404:
                continue
            if answer.status >= 400:
                raise RuntimeError(f"GET {rtype.key} {answer.id}: {answer.status} {answer.body}")
            found.append(raw_object(answer.body))
        return found, len(items)

    async def day(
        self, previous: SnapshotRecord, changes: list[dict[str, Any]], started: datetime, finished: datetime
    ) -> tuple[SnapshotRecord, DayResult]:
        clock = time.monotonic()
        touched: dict[str, set[str]] = {}
        deleted_groups: set[str] = set()
        for change in changes:
            for rtype in types_of_set(change["set"]):
                touched.setdefault(rtype.key, set()).add(change["id"])
            if change["set"] == "groups" and change.get("kind") in {"deleted", "purged"}:
                deleted_groups.add(change["id"])
        self.writer = self.repo.writer(
            {
                "tenant": previous.tenant,
                "graph": previous.data.get("graph"),
                "parent": previous.id,
                "started": iso(started),
            }
        )
        requests = gone = 0
        for key, info in previous.types.items():
            rtype = catalog.BY_KEY[key]
            ids = touched.get(key, set())
            entries = self.cache.entries(previous, key)
            drop = set(ids)
            if key in self._scoped_parent_field and deleted_groups:
                field = self._scoped_parent_field[key]
                drop |= {
                    oid for oid, h, _ in entries if self.cache.get(h)["object"].get(field) in deleted_groups
                }
            children = dict(info.get("children") or {})
            for oid, record_hash, name in entries:
                if oid in drop:
                    for child, refs in (self.cache.get(record_hash).get("children") or {}).items():
                        children[child] = children.get(child, 0) - len(refs)
                    continue
                self.writer.add_existing(key, oid, record_hash, name, check=False)
            type_requests = 0
            if ids and info.get("status") == "ok":
                objects, type_requests = await self.fetch(rtype, sorted(ids))
                gone += len(ids) - len(objects)
                result = TypeResult(key)
                await self.collector._store_page(
                    rtype, objects, result
                )  # children read as the collector does
                type_requests += result.requests
                for child, count in result.children.items():
                    children[child] = children.get(child, 0) + count
            requests += type_requests
            self.writer.finish_type(
                key,
                str(info.get("status")),
                error=info.get("error"),
                children=children or None,
                requests=type_requests,
            )
        stats = {
            "derived": True,
            "requests": requests,
            "objectsWritten": self.writer.objects_written,
            "objectsReused": self.writer.objects_reused,
            "bytesWritten": self.writer.bytes_written,
        }
        record: SnapshotRecord = self.writer.commit(previous.status, stats, finished=iso(finished))
        touched_count = sum(len(v) for v in touched.values())
        return record, DayResult(touched_count, gone, requests, time.monotonic() - clock)


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


async def first_snapshot(fake: Any, repo: Repository, started: datetime) -> SnapshotRecord:
    """Day 1 through the product, dated ``started`` (the service stamps start/end with its now_iso)."""
    from entrasnap.services import snapshot as service

    real_now = service.now_iso
    clock = time.monotonic()
    service.now_iso = lambda: iso(started + timedelta(seconds=time.monotonic() - clock))
    client = GraphClient(fake.url, StaticToken(fake.token()))
    try:
        outcome = await service.take_snapshot(
            client, repo, list(catalog.CATALOG), tenant_hint=fake.tenant_id, graph_url=fake.url
        )
    finally:
        service.now_iso = real_now
        await client.aclose()
    return outcome.record


async def full_snapshot_into(fake: Any, path: Path) -> SnapshotRecord:
    from entrasnap.services.snapshot import take_snapshot

    repo = Repository.open(LocalBackend(path), create=True)
    client = GraphClient(fake.url, StaticToken(fake.token()))
    try:
        outcome = await take_snapshot(
            client, repo, list(catalog.CATALOG), tenant_hint=fake.tenant_id, graph_url=fake.url
        )
    finally:
        await client.aclose()
    return outcome.record


def compare(
    derived_repo: Repository, derived: SnapshotRecord, real_repo: Repository, real: SnapshotRecord
) -> dict[str, Any]:
    """Objects that differ between the last derived snapshot and a real one of the same tenant state."""
    out: dict[str, Any] = {}
    for key in sorted(set(derived.types) | set(real.types)):
        a = {oid: h for oid, h, _ in derived_repo.named_entries(derived, key)} if key in derived.types else {}
        b = {oid: h for oid, h, _ in real_repo.named_entries(real, key)} if key in real.types else {}
        only_a = sorted(set(a) - set(b))
        only_b = sorted(set(b) - set(a))
        differ = sorted(oid for oid in set(a) & set(b) if a[oid] != b[oid])
        if only_a or only_b or differ:
            out[key] = {
                "onlyDerived": only_a[:5],
                "onlyReal": only_b[:5],
                "differ": differ[:5],
                "counts": [len(only_a), len(only_b), len(differ)],
                "total": len(b),
            }
    return out


async def build(repo_path: Path, size: str, days: int, percent: float, verify: bool) -> dict[str, Any]:
    from entrasnap.fakegraph import mutate
    from entrasnap.fakegraph.service import start

    if repo_path.exists():
        shutil.rmtree(repo_path)
    repo = Repository.open(LocalBackend(repo_path), create=True)
    today = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    facts: dict[str, Any] = {"size": size, "seed": SEED, "days": days, "percent": percent}
    clock = time.monotonic()
    fake = start(size=size, seed=SEED, time_scale=0.01, throttling=False)
    facts["fakeStartSeconds"] = round(time.monotonic() - clock, 1)
    try:
        clock = time.monotonic()
        record = await first_snapshot(fake, repo, day_start(1, days, today))
        facts["firstSnapshotSeconds"] = round(time.monotonic() - clock, 1)
        facts["firstSnapshotBytes"] = dir_bytes(repo_path)
        facts["firstSnapshotStatus"] = record.status
        print(
            f"day 1: real snapshot in {facts['firstSnapshotSeconds']} s, {facts['firstSnapshotBytes']:,} bytes",
            flush=True,
        )
        user_changes: Counter[str] = Counter()
        client = GraphClient(fake.url, StaticToken(fake.token()), pace_interval=0.0)
        deriver = Deriver(repo, client)
        clock = time.monotonic()
        try:
            for day in range(2, days + 1):
                with fake.fake.lock:
                    summary = mutate.apply(fake.store, {"action": "churn", "percent": percent, "seed": day})
                changes = summary["changes"]
                user_changes.update(
                    c["id"] for c in changes if c["set"] == "users" and c["kind"] == "upserted"
                )
                started = day_start(day, days, today)
                record, result = await deriver.day(record, changes, started, started + timedelta(minutes=4))
                if day % 30 == 0 or day == days:
                    print(
                        f"day {day}: {len(changes)} changes, {result.touched} objects re-read "
                        f"({result.gone} gone), {result.requests} requests, {result.seconds:.2f} s; "
                        f"{time.monotonic() - clock:.0f} s so far",
                        flush=True,
                    )
        finally:
            await client.aclose()
        facts["derivedDaysSeconds"] = round(time.monotonic() - clock, 1)
        facts["mostChangedUsers"] = user_changes.most_common(5)
        if verify:
            clock = time.monotonic()
            with tempfile.TemporaryDirectory() as scratch:
                real_repo_path = Path(scratch) / "real"
                real = await full_snapshot_into(fake, real_repo_path)
                real_repo = Repository.open(LocalBackend(real_repo_path))
                facts["verify"] = {
                    "seconds": round(time.monotonic() - clock, 1),
                    "differences": compare(repo, record, real_repo, real),
                }
            print(f"verify: {json.dumps(facts['verify'], indent=1)}", flush=True)
    finally:
        fake.stop()
    facts["repositoryBytes"] = dir_bytes(repo_path)
    facts["snapshots"] = len(repo.snapshots())
    facts["complete"] = True
    sidecar(repo_path).write_text(json.dumps(facts, indent=1))
    return facts


def cached_facts(repo_path: Path, size: str, days: int, percent: float) -> dict[str, Any] | None:
    """The build's facts when ``repo_path`` holds a complete build with these parameters."""
    try:
        facts: dict[str, Any] = json.loads(sidecar(repo_path).read_text())
    except (OSError, ValueError):
        return None
    if not facts.get("complete") or (facts.get("size"), facts.get("days"), facts.get("percent")) != (
        size,
        days,
        percent,
    ):
        return None
    try:
        version = json.loads((repo_path / "config.json").read_text()).get("version")
    except (OSError, ValueError):
        return None
    readable = isinstance(version, int) and OLDEST_VERSION <= version <= FORMAT_VERSION
    if not readable or len(list((repo_path / "snapshots").glob("*.json"))) != days:
        return None  # a format this entrasnap does not read, or an unfinished build
    return facts


# --- measuring ---------------------------------------------------------------------------------------


def _tail(stream: Any) -> bytes:
    stream.seek(0)
    data: bytes = stream.read()[-2000:]
    return data


def run_once(argv: list[str]) -> tuple[float, float, int, int, float]:
    """Wall seconds, peak RSS (MB) of that process alone, exit code, output bytes, CPU seconds (user+sys)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        clock = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - clock
        process.returncode = os.waitstatus_to_exitcode(status)
        size = out.tell()
        if process.returncode not in (0, 1) and b"named" not in _tail(err):
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}: {err.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, process.returncode, size, usage.ru_utime + usage.ru_stime


def targets(repo_path: Path, facts: dict[str, Any]) -> dict[str, str]:
    """Concrete arguments: a mid-year date, a user with a unique name then, a CA policy, a changed user, a big group."""
    repo = Repository.open(LocalBackend(repo_path))
    records = repo.snapshots()
    mid = records[len(records) // 2]
    cache = CachedRepository(repo)
    changed = [uid for uid, _ in facts["mostChangedUsers"]]
    at_mid = {oid: n for oid, _, n in cache.entries(mid, "users")}
    user_id = next((u for u in changed if u in at_mid), next(iter(at_mid)))
    # fakegraph draws names from a small pool: no name is unique in M, so a name gives the ambiguity error
    policy = cache.entries(mid, "conditionalAccessPolicies")[0][0]
    first = records[0]
    members = {
        oid: len((cache.get(h).get("children") or {}).get("members", []))
        for oid, h, _ in cache.entries(first, "groups")
    }
    big_group = max(members, key=lambda oid: members[oid])
    return {
        "date": mid.started.strftime("%Y-%m-%d"),
        "user_id": user_id,
        "user_name": str(at_mid[user_id]),
        "policy": policy,
        "changed_user": changed[0],
        "changed_user_versions": str(facts["mostChangedUsers"][0][1]),
        "big_group": big_group,
        "big_group_members": str(members[big_group]),
        "first": first.id[:12],
        "last": records[-1].id[:12],
    }


def commands(store: str, t: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    cli = [PY, "-m", "entrasnap.cli"]
    return [
        (
            "show",
            "show users <id> --at <mid-year>",
            [*cli, "show", "users", t["user_id"], "--at", t["date"], "--store", store],
        ),
        (
            "show",
            "show users <name> --at <mid-year> (ambiguous in M: error)",
            [*cli, "show", "users", t["user_name"], "--at", t["date"], "--store", store],
        ),
        (
            "show",
            "show conditionalAccessPolicies <id> --at <mid-year>",
            [*cli, "show", "conditionalAccessPolicies", t["policy"], "--at", t["date"], "--store", store],
        ),
        (
            "history",
            "history users <most-changed user id>",
            [*cli, "history", "users", t["changed_user"], "--store", store],
        ),
        (
            "history",
            "history groups <largest group id>",
            [*cli, "history", "groups", t["big_group"], "--store", store],
        ),
        ("diff", "diff <day 1> <last day>", [*cli, "diff", t["first"], t["last"], "--store", store]),
        ("diff", "diff previous latest", [*cli, "diff", "previous", "latest", "--store", store]),
    ]


def compile_package() -> None:
    """Byte-compile entrasnap as an install does, so that no measured run compiles its sources.

    In a shell with PYTHONDONTWRITEBYTECODE set (this project's machines), a source checkout is otherwise
    compiled again by every run: ~70 modules, 0.07-0.1 s a command that an installed package does not pay.
    """
    import compileall

    import entrasnap

    compileall.compile_dir(str(Path(entrasnap.__file__).parent), quiet=1)


def measure(repo_path: Path, facts: dict[str, Any], repeat: int) -> list[dict[str, Any]]:
    compile_package()
    t = targets(repo_path, facts)
    print(f"arguments: {json.dumps(t)}", flush=True)
    rows = []
    startup = [run_once([PY, "-m", "entrasnap.cli", "--version"]) for _ in range(repeat)]
    base = statistics.median(r[0] for r in startup)
    base_cpu = statistics.median(r[4] for r in startup)
    print(
        f"{'startup: python -m entrasnap.cli --version':55} median {base:6.3f} s  cpu {base_cpu:6.3f} s  "
        f"peak RSS {max(r[1] for r in startup):5.0f} MB",
        flush=True,
    )
    rows.append(
        {
            "command": "startup (--version)",
            "argv": "-m entrasnap.cli --version",
            "median_s": round(base, 3),
            "cpu_s": round(base_cpu, 3),
            "runs_s": [round(r[0], 3) for r in startup],
            "peak_rss_mb": round(max(r[1] for r in startup)),
        }
    )
    for kind, label, argv in commands(str(repo_path), t):
        runs = [run_once(argv) for _ in range(repeat)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[4] for r in runs)
        rss = max(r[1] for r in runs)
        row = {
            "command": label,
            "argv": " ".join(argv[1:]),
            "median_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "runs_s": [round(r[0], 3) for r in runs],
            "peak_rss_mb": round(rss),
            "exit": runs[0][2],
            "output_bytes": runs[0][3],
            "target_s": TARGETS[kind],
            "ratio": round(wall / TARGETS[kind], 2),
        }
        rows.append(row)
        print(
            f"{label:55} median {wall:6.3f} s  cpu {cpu:6.3f} s  (target {TARGETS[kind]} s, ratio {row['ratio']:.2f})  "
            f"peak RSS {rss:5.0f} MB  runs {row['runs_s']}  out {row['output_bytes']:,} B",
            flush=True,
        )
    return rows


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, {platform.platform()}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=Path(tempfile.gettempdir()) / "entrasnap-bench-year")
    parser.add_argument("--size", default="M", choices=["S", "M", "L"], help="fakegraph tenant size")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--percent", type=float, default=0.5, help="daily churn, percent of objects")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="build even if --repo holds a complete year")
    parser.add_argument(
        "--verify", action="store_true", help="compare the last day with a real full snapshot"
    )
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    facts = None if args.rebuild else cached_facts(args.repo, args.size, args.days, args.percent)
    if facts is None:
        clock = time.monotonic()
        facts = asyncio.run(build(args.repo, args.size, args.days, args.percent, args.verify))
        facts["buildSeconds"] = round(time.monotonic() - clock, 1)
        sidecar(args.repo).write_text(json.dumps(facts, indent=1))
    else:
        print(f"reusing {args.repo} (built in {facts.get('buildSeconds')} s)", flush=True)
    print(
        f"repository: {facts['snapshots']} snapshots, {facts['repositoryBytes']:,} bytes; first snapshot alone "
        f"{facts['firstSnapshotBytes']:,} bytes (x{facts['repositoryBytes'] / facts['firstSnapshotBytes']:.2f}); "
        f"build {facts.get('buildSeconds')} s (first snapshot {facts['firstSnapshotSeconds']} s, "
        f"{args.days - 1} derived days {facts['derivedDaysSeconds']} s)",
        flush=True,
    )
    if not args.build_only:
        rows = measure(args.repo, facts, args.repeat)
        facts["measurements"] = rows
        sidecar(args.repo).write_text(json.dumps(facts, indent=1))


if __name__ == "__main__":
    main()
