"""Snapshot speed against Graph's limits (issue 6): entrasnap and the EntraExporter-like baseline on fakegraph.

    .venv/bin/python bench/snapshots.py --sizes S,M,L --baseline-sizes M --time-scale 1

For each size, one tenant is generated (seed 1) and, for each client, served by a *fresh* fakegraph (its own
counters, throttling bucket and CA pacing clock) with the latency model and throttling on:

- ``entrasnap``: ``python -m entrasnap.cli snapshot --store DIR --graph-url URL --access-token T --json``
  of the whole catalog, in its own process, so that its peak RSS (its own ``VmHWM``) is the snapshot's alone;
- ``baseline``: ``bench/exporter_baseline.py`` (EntraExporter 3.x's request pattern), also its own process.

Per run it prints requests (Graph requests: each ``$batch`` item counts), HTTP round trips, resource units
(RU) and 429s as fakegraph counted them (``/_fakegraph/info``), wall time, peak RSS, repository bytes, the
lower bound below and the ratio wall / bound; then baseline / entrasnap ratios. The fake's counts are
checked against the client's own (the snapshot record's stats) and a mismatch is printed.

**The lower bound** is the least wall time the fake's model allows for the requests the client made;
with ``s`` the time scale, ``lat`` the per-request latency and ``obj`` the per-object latency (both times ``s``):

- throttling: a bucket of ``C`` RU per app refills at ``C / (10 s * s)``; it starts full, so spending ``RU``
  units takes at least ``max(0, RU - C) / (C / (10 s * s))``;
- sequential chains: a collection's pages can only be requested one after another (each needs the previous
  page's nextLink), so the longest chain the fake saw (``pages`` pages holding ``objects`` objects) takes at
  least ``pages * lat + objects * obj``;
- Conditional Access pacing: ``n`` paced requests let through at most one per ``1 s * s``, so at least
  ``(n - 1) * s + lat``.

bound = the largest of the three. It ignores CPU time (the client's and the fake's, on the same machine) and
dependencies between types (parents before their scoped types), so it cannot be beaten but may not be
reachable. Run time: ``--time-scale`` scales the fake's latency, bucket window, Retry-After and pacing together,
so the bound is computed in the same scaled seconds. entrasnap's own CA pacing interval (1 s) is not scaled.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from entrasnap.fakegraph import service
from entrasnap.fakegraph.state import Store
from entrasnap.fakegraph.tenant import generate

PY = sys.executable
BENCH = Path(__file__).resolve().parent
SEED = 1
LATENCY_MS = 150.0  # a small Graph answer
PER_OBJECT_MS = 1.0  # a page of 999 users with a $select answers in about 1.1 s


@dataclass(frozen=True)
class Model:
    """The fake's timing model in (scaled) seconds."""

    latency: float  # per request (a $batch counts once)
    per_object: float
    capacity: float  # RU in a full bucket
    refill_seconds: float  # a whole bucket refills in this long
    pace: float  # one paced (CA) request per this long


@dataclass(frozen=True)
class Bound:
    throttling: float
    chain: float
    pacing: float

    @property
    def seconds(self) -> float:
        return max(self.throttling, self.chain, self.pacing)

    @property
    def limit(self) -> str:
        return max(
            ("throttling", self.throttling),
            ("chain", self.chain),
            ("pacing", self.pacing),
            key=lambda p: p[1],
        )[0]


def lower_bound(model: Model, units: float, chain_pages: int, chain_objects: int, paced: int) -> Bound:
    """The least wall time the fake's model allows for this work (see the module docstring)."""
    throttling = max(0.0, units - model.capacity) / (model.capacity / model.refill_seconds)
    chain = chain_pages * model.latency + chain_objects * model.per_object
    pacing = (paced - 1) * model.pace + model.latency if paced else 0.0
    return Bound(throttling, chain, pacing)


@dataclass
class Run:
    size: str
    client: str
    requests: int = 0
    round_trips: int = 0
    resource_units: int = 0
    throttled: int = 0
    paced: int = 0
    chain: dict[str, Any] = field(default_factory=dict)
    wall: float = 0.0
    peak_rss: int = 0  # bytes
    repo_bytes: int | None = None
    exit_code: int = 0
    bound: Bound | None = None
    client_counts: dict[str, Any] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.wall / self.bound.seconds if self.bound and self.bound.seconds else float("nan")


def run_process(command: list[str], env: dict[str, str] | None = None) -> tuple[int, float, int, str]:
    """Run ``command``; its exit code, wall seconds, peak RSS in bytes and stdout.

    The peak is the process's own high-water mark (``VmHWM``, polled every 50 ms until ``os.wait4`` reaps it):
    ``wait4``'s ``ru_maxrss`` would include the memory of this process (the fake tenant, 1.2 GB for L) that the
    child shared between fork and exec.
    """
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=env)
        peak = 0
        while True:
            peak = max(peak, _high_water(process.pid))
            pid, status, _ = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return process.returncode, wall, peak, out.read().decode()


def _high_water(pid: int) -> int:
    """The peak resident memory of a running process in bytes (0 once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1]) * 1024


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def model_of(info: dict[str, Any]) -> Model:
    settings = info["settings"]
    scale = float(settings["time_scale"])
    return Model(
        latency=settings["latency_ms"] * scale / 1000,
        per_object=settings["per_object_ms"] * scale / 1000,
        capacity=float(info["bucket"]["capacity"]),
        refill_seconds=float(info["bucket"]["refillSeconds"]),
        pace=scale,
    )


def account(run: Run, info: dict[str, Any]) -> None:
    """Fill ``run`` with the fake's own counts and the lower bound they allow."""
    run.round_trips = int(info["requests"])
    apps = info["apps"].values()
    run.requests = sum(a["requests"] for a in apps)
    run.resource_units = sum(a["resourceUnits"] for a in apps)
    run.throttled = sum(a["throttled"] for a in apps)
    run.paced = int(info["pacedRequests"])
    run.chain = dict(info["longestPageChain"])
    run.bound = lower_bound(
        model_of(info), run.resource_units, run.chain["pages"], run.chain["objects"], run.paced
    )


def check(run: Run, mine: dict[str, Any]) -> None:
    """Compare the client's own counts (names as the fake's) with the fake's; note any difference."""
    run.client_counts = mine
    for name in ("requests", "round_trips", "resource_units", "throttled"):
        if mine.get(name) is None:
            run.mismatches.append(f"{name}: the client did not say")
        elif int(mine[name]) != getattr(run, name):
            run.mismatches.append(f"{name}: client {mine[name]}, fake {getattr(run, name)}")


def snapshot_entrasnap(
    fake: service.RunningFakeGraph, work: Path, concurrency: int | None, types: str | None = None
) -> Run:
    store = work / "repository"
    shutil.rmtree(store, ignore_errors=True)
    command = [PY, "-m", "entrasnap.cli", "snapshot", "--store", str(store), "--graph-url", fake.url]
    command += ["--access-token", fake.token(), "--json"]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    if types:
        command += ["--types", types]
    (work / "empty.toml").write_text("")  # no user config file applies
    env = {**os.environ, "ENTRASNAP_CONFIG": str(work / "empty.toml")}
    code, wall, rss, out = run_process(command, env)
    run = Run(fake.store.size, "entrasnap", wall=wall, peak_rss=rss, exit_code=code)
    run.repo_bytes = directory_bytes(store)
    account(run, httpx.get(f"{fake.url}/_fakegraph/info", timeout=60).json())
    stats = json.loads(out).get("stats", {}) if out.strip() else {}
    check(
        run,
        {  # the record counts each request once; the fake also counts its retries (429s and 5xx)
            "requests": stats["requests"] + stats["retries"] if "requests" in stats else None,
            "round_trips": stats.get("roundTrips"),
            "resource_units": stats.get("resourceUnits"),
            "throttled": stats.get("throttled"),
        },
    )
    return run


def snapshot_baseline(fake: service.RunningFakeGraph, types: str | None = None) -> Run:
    command = [
        PY,
        str(BENCH / "exporter_baseline.py"),
        "--graph-url",
        fake.url,
        "--access-token",
        fake.token(),
    ]
    command += ["--types", types] if types else []
    code, wall, rss, out = run_process(command)
    run = Run(fake.store.size, "baseline", wall=wall, peak_rss=rss, exit_code=code)
    account(run, httpx.get(f"{fake.url}/_fakegraph/info", timeout=60).json())
    counts = json.loads(out) if out.strip() else {}
    check(run, {k: counts.get(k) for k in ("requests", "round_trips", "resource_units", "throttled")})
    return run


def measure(
    store: Store,
    clients: list[str],
    work: Path,
    settings: dict[str, Any],
    concurrency: int | None = None,
    types: str | None = None,
) -> list[Run]:
    """Each client against its own fresh fake serving ``store`` (``types``: catalog keys, default all)."""
    runs = []
    for client in clients:
        fake = service.start(store=store, **settings)
        try:
            run = (
                snapshot_entrasnap(fake, work, concurrency, types)
                if client == "entrasnap"
                else snapshot_baseline(fake, types)
            )
        finally:
            fake.stop()
        runs.append(run)
        print(row(run), flush=True)
    return runs


HEADER = (
    "| size | client | requests | round trips | RU | 429s | wall s | peak RSS MB | repository MB "
    "| bound s (RU / chain / CA) | wall / bound |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(run: Run) -> str:
    b = run.bound
    bound = f"**{b.seconds:.1f}** ({b.throttling:.1f} / {b.chain:.1f} / {b.pacing:.1f})" if b else "-"
    repo = f"{run.repo_bytes / 1e6:,.1f}" if run.repo_bytes is not None else "-"
    line = (
        f"| {run.size} | {run.client} | {run.requests:,} | {run.round_trips:,} | {run.resource_units:,} "
        f"| {run.throttled:,} | {run.wall:.1f} | {run.peak_rss / 2**20:,.0f} | {repo} | {bound} | {run.ratio:.2f} |"
    )
    if run.exit_code:
        line += f" exit {run.exit_code}"
    if run.mismatches:
        line += " MISMATCH " + "; ".join(run.mismatches)
    return line


def ratios(runs: list[Run]) -> list[str]:
    """baseline / entrasnap for requests, RU and wall time, per size where both ran."""
    out = []
    for size in dict.fromkeys(r.size for r in runs):
        pair = {r.client: r for r in runs if r.size == size}
        if {"entrasnap", "baseline"} <= pair.keys():
            ours, base = pair["entrasnap"], pair["baseline"]
            out.append(
                f"| {size} | {base.requests / ours.requests:.1f}x | {base.resource_units / ours.resource_units:.1f}x "
                f"| {base.wall / ours.wall:.1f}x |"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="S,M,L", help="comma-separated sizes to run entrasnap on")
    parser.add_argument("--baseline-sizes", default="S,M", help="sizes to also run the baseline on")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="fakegraph time scale (below 1 the bench becomes CPU-bound)",
    )
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS)
    parser.add_argument("--per-object-ms", type=float, default=PER_OBJECT_MS)
    parser.add_argument(
        "--concurrency", type=int, default=None, help="snapshot --concurrency (default: its own)"
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)
    settings = {
        "time_scale": args.time_scale,
        "latency_ms": args.latency_ms,
        "per_object_ms": args.per_object_ms,
        "throttling": True,
    }
    work = args.work or Path(tempfile.mkdtemp(prefix="entrasnap-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.2f}; fakegraph {settings}"
    )
    print(HEADER, flush=True)
    runs: list[Run] = []
    baseline = {s.strip().upper() for s in args.baseline_sizes.split(",") if s.strip()}
    for size in [s.strip().upper() for s in args.sizes.split(",") if s.strip()]:
        store = generate(size, SEED)
        gc.collect()
        gc.freeze()  # the served tenant (the fakes run in this process) is not walked by every collection
        clients = ["entrasnap"] + (["baseline"] if size in baseline else [])
        runs += measure(store, clients, work, settings, args.concurrency)
        del store
    print(f"# load after: {os.getloadavg()[0]:.2f}")
    if lines := ratios(runs):
        print(
            "\n| size | requests baseline / entrasnap | RU baseline / entrasnap | wall baseline / entrasnap |"
        )
        print("|---|---|---|---|")
        print("\n".join(lines))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r.exit_code == 0 and not r.mismatches for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
