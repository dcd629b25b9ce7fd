"""A baseline Graph reader with the request pattern of the reference PowerShell exporter (EntraExporter 3.x).

    .venv/bin/python bench/exporter_baseline.py --graph-url URL --access-token TOKEN   # prints counts as JSON

What it reproduces, from microsoft/EntraExporter (read through the search tool's code corpus):

- ``src/Export-Entra.ps1`` (commit d290331): breadth first. Every root item of the export schema becomes one
  ``$batch`` request (v1.0 and beta separately); once a level's results are in, every child collection of
  every parent becomes one request per parent (``_processChildrenRecursive``: ``$parentIds | % {
  New-GraphBatchRequest -Url $uri -placeholder $_ }``), then the next level. Results are kept until the end.
- ``src/internal/Invoke-GraphBatchRequest.ps1`` (commit 57d93a6): chunks of 20 requests (``$chunkSize = 20``),
  each chunk sent and answered before the next one (``_processChunk``: ``Invoke-MgRestMethod -Method Post``,
  no parallelism); after each chunk its ``@odata.nextLink``s are requested as a new batch run (recursively)
  before the next chunk; items answered 429 wait for the largest ``Retry-After`` of the chunk and are sent
  again; 5xx items are sent again.
- ``src/Get-EEDefaultSchema.ps1`` (commit 2a33885): no ``$top`` anywhere (Graph's default page sizes);
  ``$select`` only on owners/members (``id, userPrincipalName, displayName``); children per parent: groups ->
  owners, members; applications -> extensionProperties, owners, tokenIssuancePolicies, tokenLifetimePolicies,
  appManagementPolicies; servicePrincipals -> appRoleAssignments, appRoleAssignedTo, oauth2PermissionGrants,
  delegatedPermissionClassifications, owners, claimsMappingPolicies, homeRealmDiscoveryPolicies,
  tokenIssuancePolicies, tokenLifetimePolicies, appManagementPolicies (ten); directoryRoles -> members,
  scopedMembers; administrativeUnits -> members, scopedRoleMembers, extensions; connectedOrganizations ->
  externalSponsors, internalSponsors; access review definitions -> instances.

So that both clients read the same data, the roots are entrasnap's catalog types (its paths, API versions and
required filters, without ``$top``/``$select``), the children are the exporter's list above plus any catalog
child it lacks (e.g. device owners, group settings, federated credentials), and the catalog's group-scoped
types (PIM for groups) are read with one request per group. Children fakegraph does not serve answer 4xx and
count as requests, as they would against Graph. Nothing is written to disk (the exporter writes JSON files
at the end; that cost is left out in the baseline's favour). The Graph SDK's own retry of a throttled or failed
``$batch`` POST is reproduced by retrying the POST after its Retry-After.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType

CHUNK = 20  # Invoke-GraphBatchRequest's $chunkSize
MEMBER_SELECT = "id,userPrincipalName,displayName"

# EntraExporter's children per parent (Get-EEDefaultSchema.ps1), by catalog key: (path under the parent, $select).
EXPORTER_CHILDREN: dict[str, list[tuple[str, str | None]]] = {
    "groups": [("owners", MEMBER_SELECT), ("members", MEMBER_SELECT)],
    "applications": [
        ("extensionProperties", None),
        ("owners", MEMBER_SELECT),
        ("tokenIssuancePolicies", None),
        ("tokenLifetimePolicies", None),
        ("appManagementPolicies", None),
    ],
    "servicePrincipals": [
        ("appRoleAssignments", None),
        ("appRoleAssignedTo", None),
        ("oauth2PermissionGrants", None),
        ("delegatedPermissionClassifications", None),
        ("owners", MEMBER_SELECT),
        ("claimsMappingPolicies", None),
        ("homeRealmDiscoveryPolicies", None),
        ("tokenIssuancePolicies", None),
        ("tokenLifetimePolicies", None),
        ("appManagementPolicies", None),
    ],
    "directoryRoles": [("members", MEMBER_SELECT), ("scopedMembers", None)],
    "administrativeUnits": [("members", "id"), ("scopedRoleMembers", None), ("extensions", None)],
    "connectedOrganizations": [("externalSponsors", None), ("internalSponsors", None)],
    "accessReviewDefinitions": [("instances", None)],
}


@dataclass
class Request:
    id: str
    version: str
    url: str  # relative to the version root, without a leading slash
    kind: str  # catalog key of what is read (children: "<key>/<child>")


@dataclass
class Counts:
    requests: int = 0  # batch items sent, retries included
    round_trips: int = 0
    resource_units: int = 0
    throttled: int = 0
    errors: int = 0
    objects: int = 0
    seconds: float = 0.0
    failed: dict[str, int] = field(default_factory=dict)  # 4xx answers by what was read


class Exporter:
    """Breadth-first, one $batch of 20 at a time, default page sizes."""

    def __init__(self, base_url: str, token: str, http: httpx.Client | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.http = http or httpx.Client(timeout=300, headers={"Authorization": f"Bearer {token}"})
        self.counts = Counts()
        self._next_id = 0

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def run(self, types: list[ResourceType]) -> Counts:
        started = time.monotonic()
        roots = [t for t in types if t.parent is None]
        scoped = [t for t in types if t.parent is not None]
        level = [self.root_request(t) for t in roots]
        results = self.execute(level)
        # Level 1: every child of every parent, and the group-scoped types, one request per parent.
        children: list[Request] = []
        for rtype in roots:
            for parent_id in results.get(rtype.key, []):
                children += self.child_requests(rtype, parent_id)
        for rtype in scoped:
            assert rtype.parent is not None
            for parent_id in results.get(rtype.parent.type, []):
                children.append(self.scoped_request(rtype, parent_id))
        self.execute(children)
        self.counts.seconds = time.monotonic() - started
        return self.counts

    # --- the requests ---------------------------------------------------------------------------

    def root_request(self, rtype: ResourceType) -> Request:
        query = [f"$filter={quote(rtype.filter, safe='')}"] if rtype.filter else []
        if rtype.expand:
            query.append(f"$expand={rtype.expand}")
        url = rtype.path.lstrip("/") + ("?" + "&".join(query) if query else "")
        return Request(self.new_id(), rtype.api, url, rtype.key)

    def child_requests(self, rtype: ResourceType, parent_id: str) -> Iterator[Request]:
        wanted = dict(EXPORTER_CHILDREN.get(rtype.key, []))
        paths = {c.path.replace("{id}", quote(parent_id, safe="")): c for c in rtype.children}
        for child in rtype.children:  # catalog children the exporter does not list
            name = child.path.rsplit("/", 1)[-1]
            wanted.setdefault(name, None)
        base = f"{rtype.path.lstrip('/')}/{quote(parent_id, safe='')}"
        for name, select in wanted.items():
            own = next((p for p, c in paths.items() if p.rsplit("/", 1)[-1] == name), None)
            version = paths[own].api if own else rtype.api
            url = (own.lstrip("/") if own else f"{base}/{name}") + (f"?$select={select}" if select else "")
            yield Request(self.new_id(), version, url, f"{rtype.key}/{name}")

    def scoped_request(self, rtype: ResourceType, parent_id: str) -> Request:
        assert rtype.parent is not None
        own = rtype.parent.filter.format(id=parent_id)
        flt = f"{rtype.filter} and {own}" if rtype.filter else own
        return Request(
            self.new_id(), rtype.api, f"{rtype.path.lstrip('/')}?$filter={quote(flt, safe='')}", rtype.key
        )

    # --- Invoke-GraphBatchRequest ---------------------------------------------------------------

    def execute(self, requests: list[Request]) -> dict[str, list[str]]:
        """Run ``requests`` (v1.0 first, then beta) and return the ids of the objects read, by kind."""
        found: dict[str, list[str]] = {}
        for version in ("v1.0", "beta"):
            self.batch_run([r for r in requests if r.version == version], version, found)
        return found

    def batch_run(self, requests: list[Request], version: str, found: dict[str, list[str]]) -> None:
        """Invoke-GraphBatchRequest's recursion, unrolled: after each chunk, its nextLinks (and retried 5xx)
        run to completion, then its throttled items after the largest Retry-After, then the next chunk."""
        stack: list[deque[list[Request] | float]] = [deque(_chunks(requests))]
        while stack:
            if not stack[-1]:
                stack.pop()
                continue
            step = stack[-1].popleft()
            if isinstance(step, float):
                time.sleep(step)
                continue
            extra, throttled, wait = self.process_chunk(step, version, found)
            if throttled:
                stack.append(deque([wait, *_chunks(throttled)]))
            if extra:
                stack.append(deque(_chunks(extra)))

    def process_chunk(
        self, chunk: list[Request], version: str, found: dict[str, list[str]]
    ) -> tuple[list[Request], list[Request], float]:
        body = self.post(version, {"requests": [{"id": r.id, "method": "GET", "url": r.url} for r in chunk]})
        by_id = {r.id: r for r in chunk}
        extra: list[Request] = []
        throttled: list[Request] = []
        wait = 0.0
        for answer in body.get("responses", []):
            request = by_id[str(answer.get("id"))]
            status = int(answer.get("status", 0))
            headers = {str(k).lower(): str(v) for k, v in (answer.get("headers") or {}).items()}
            units = headers.get("x-ms-resource-unit", "")
            self.counts.resource_units += int(units) if units.isdigit() else 0
            payload: dict[str, Any] = answer["body"] if isinstance(answer.get("body"), dict) else {}
            if status in (200, 201, 204):
                value = payload.get("value")
                values: list[Any] = value if isinstance(value, list) else [payload]
                ids = [str(v["id"]) for v in values if isinstance(v, dict) and "id" in v]
                found.setdefault(request.kind, []).extend(ids)
                self.counts.objects += len(ids)
                link = payload.get("@odata.nextLink")
                if link:
                    relative = str(link).split(f"/{version}/", 1)[1]
                    extra.append(Request(self.new_id(), version, relative, request.kind))
            elif status in (429, 509):
                self.counts.throttled += 1
                wait = max(wait, float(headers.get("retry-after", "0") or 0))
                throttled.append(Request(self.new_id(), version, request.url, request.kind))
            elif status in (500, 502, 503, 504):
                extra.append(Request(self.new_id(), version, request.url, request.kind))
            else:
                self.counts.errors += 1
                self.counts.failed[request.kind] = self.counts.failed.get(request.kind, 0) + 1
        return extra, throttled, wait

    def post(self, version: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One $batch POST, retried after Retry-After when the POST itself is throttled or fails."""
        self.counts.requests += len(payload["requests"])
        while True:
            self.counts.round_trips += 1
            response = self.http.post(f"{self.base}/{version}/$batch", json=payload)
            if response.status_code == 200:
                result: dict[str, Any] = response.json()
                return result
            if response.status_code not in (429, 500, 502, 503, 504):
                raise RuntimeError(f"$batch answered {response.status_code}: {response.text[:200]}")
            time.sleep(float(response.headers.get("Retry-After", "1")))


def _chunks(requests: list[Request]) -> list[list[Request] | float]:
    return [requests[i : i + CHUNK] for i in range(0, len(requests), CHUNK)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--graph-url", required=True)
    parser.add_argument("--access-token", required=True)
    parser.add_argument("--types", default="", help="catalog keys or groups (default: the whole catalog)")
    args = parser.parse_args(argv)
    types = catalog.resolve(args.types.split(",")) if args.types else list(catalog.CATALOG)
    counts = Exporter(args.graph_url, args.access_token).run(types)
    json.dump(asdict(counts), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
