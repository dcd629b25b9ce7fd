"""Take one snapshot: read the chosen catalog types through Graph into the repository.

Data is written first and the snapshot record last, so an interrupted run leaves no half snapshot.
Exit codes: 0 complete, 2 partial (some types not ok), 1 failed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from entrasnap.catalog.model import ResourceType
from entrasnap.collect import Collector, Options, Progress, TypeResult
from entrasnap.graph import GraphAuthenticationError, GraphClient, GraphConnectionError, GraphRequestError
from entrasnap.services.errors import TenantMismatchError
from entrasnap.services.ids import is_guid
from entrasnap.store import Repository, SnapshotRecord

EXIT_COMPLETE, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 2


@dataclass(frozen=True)
class Tenant:
    id: str
    domain: str | None = None
    domains: tuple[str, ...] = ()  # every verified domain, when /organization could be read

    def answers_to(self, name: str) -> bool:
        """Whether ``name`` (a tenant id or domain) names this tenant."""
        wanted = name.lower()
        return wanted == self.id.lower() or wanted in (d.lower() for d in self.domains)


class PreviousSnapshot:
    """The baseline an incremental read continues from: the tenant's last snapshot in the repository."""

    def __init__(self, repository: Repository, record: SnapshotRecord) -> None:
        self.repository = repository
        self.snapshot = record

    def type_info(self, type_key: str) -> dict[str, Any] | None:
        info = self.snapshot.types.get(type_key)
        return info if isinstance(info, dict) else None

    def entries(self, type_key: str) -> Iterator[tuple[str, str, str | None]]:
        return self.repository.named_entries(self.snapshot, type_key)

    def record(self, record_hash: str) -> dict[str, Any]:
        value: dict[str, Any] = self.repository.get(record_hash)
        return value


@dataclass
class Outcome:
    record: SnapshotRecord
    results: list[TypeResult]
    seconds: float

    @property
    def exit_code(self) -> int:
        return {"complete": EXIT_COMPLETE, "partial": EXIT_PARTIAL}.get(self.record.status, EXIT_FAILED)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def identify_tenant(client: GraphClient, fallback: str) -> Tenant:
    """The tenant's id and default domain from /organization, or what the user named if unreadable.

    Graph unreachable or no token at all is not "unreadable": it fails the run before anything is written.
    """
    try:
        body = await client.get("/v1.0/organization?$select=id,verifiedDomains")
    except (GraphConnectionError, GraphAuthenticationError):
        raise
    except GraphRequestError:
        return Tenant(fallback)
    orgs = body.get("value", []) if isinstance(body, dict) else []
    if not orgs:
        return Tenant(fallback)
    org = orgs[0]
    domains = org.get("verifiedDomains") or []
    default = next((d.get("name") for d in domains if d.get("isDefault")), None)
    names = tuple(str(d["name"]) for d in domains if d.get("name"))
    return Tenant(str(org.get("id", fallback)), default, names)


def overall_status(results: Sequence[TypeResult]) -> str:
    ok = sum(1 for r in results if r.status == "ok")
    if results and ok == len(results):
        return "complete"
    return "partial" if ok else "failed"


async def take_snapshot(
    client: GraphClient,
    repository: Repository,
    types: Sequence[ResourceType],
    *,
    tenant_hint: str,
    options: Options | None = None,
    progress: Progress | None = None,
    graph_url: str = "",
    expected_tenant: str | None = None,
    token_tenant: str | None = None,
) -> Outcome:
    """Read ``types`` into a new snapshot of ``repository``; returns its committed record.

    With ``expected_tenant`` (a tenant id or verified domain), refuses to file a tenant reached by the
    credentials under another tenant's name (TenantMismatchError) before anything is written. When
    /organization cannot be read, ``token_tenant`` (the access token's tenant id, if known) identifies the
    tenant, so that its history is not split under whatever name the user typed.
    """
    started_clock = time.monotonic()
    tenant = await identify_tenant(client, token_tenant or tenant_hint)
    if (
        not tenant.domains
        and token_tenant
        and expected_tenant
        and is_guid(expected_tenant)
        and expected_tenant.lower() != token_tenant.lower()
    ):
        tenant = Tenant(token_tenant, None, (token_tenant,))  # /organization unreadable: the token says
    if expected_tenant and tenant.domains and not tenant.answers_to(expected_tenant):
        raise TenantMismatchError(
            f"the credentials reach tenant {tenant.id} ({tenant.domain}), not {expected_tenant!r}; "
            "check --tenant (or the config's tenant_id)"
        )
    previous = repository.snapshots()
    last = next((r for r in reversed(previous) if r.tenant.get("id") == tenant.id), None)
    parent = last.id if last is not None else None
    from entrasnap import __version__

    writer = repository.writer(
        {
            "tenant": {"id": tenant.id, "domain": tenant.domain},
            "started": now_iso(),
            "entrasnap": __version__,
            "graph": graph_url,
            "parent": parent,
        }
    )
    baseline = PreviousSnapshot(repository, last) if last is not None else None
    results = await Collector(client, writer, options, progress, baseline).run(types)
    stats: dict[str, Any] = {
        "requests": client.stats.requests,
        "roundTrips": client.stats.round_trips,
        "batchItems": client.stats.batch_items,
        "throttled": client.stats.throttled,
        "retries": client.stats.retries,
        "waitSeconds": round(client.stats.wait_seconds, 3),
        "resourceUnits": client.stats.resource_units,
        "objectsWritten": writer.objects_written,
        "objectsReused": writer.objects_reused,
        "bytesWritten": writer.bytes_written,
    }
    record = writer.commit(overall_status(results), stats, finished=now_iso())
    return Outcome(record, results, time.monotonic() - started_clock)
