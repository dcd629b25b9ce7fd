"""fakegraph at scale: generation time and the server's peak memory while serving a whole tenant.

    .venv/bin/python bench/fakegraph_scale.py --size L

Generates the tenant, serves it on loopback (throttling off), reads every user page ($top=999, full
$select), every group page, and the members of 500 groups; prints wall times and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time

import httpx

from entrasnap.fakegraph.service import start
from entrasnap.fakegraph.tenant import generate


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_all(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> int:
    count = 0
    next_url: str | None = url
    while next_url:
        response = client.get(next_url, params=params if next_url == url else None)
        response.raise_for_status()
        body = response.json()
        count += len(body["value"])
        next_url = body.get("@odata.nextLink")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="L", choices=["S", "M", "L"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    store = generate(args.size, args.seed)
    generated = time.perf_counter() - started
    print(f"size {args.size}: generated in {generated:.1f} s, peak RSS {peak_rss_mb():.0f} MB")
    running = start(store=store, throttling=False)
    try:
        client = running.client()
        started = time.perf_counter()
        users = read_all(
            client,
            "/v1.0/users",
            {
                "$top": "999",
                "$select": "id,displayName,userPrincipalName,"
                "accountEnabled,userType,department,jobTitle,mail,createdDateTime",
            },
        )
        groups = read_all(client, "/v1.0/groups", {"$top": "999"})
        members = sum(
            read_all(client, f"/v1.0/groups/{gid}/members", {"$top": "999"})
            for gid in store.sets["groups"].ids()[:500]
        )
        served = time.perf_counter() - started
        print(
            f"served {users} users, {groups} groups, {members} memberships of 500 groups in {served:.1f} s; "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )
    finally:
        running.stop()


if __name__ == "__main__":
    main()
