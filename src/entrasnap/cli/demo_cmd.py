"""``entrasnap demo``: the main job on a built-in example tenant, for a newcomer with no tenant.

Starts fakegraph on loopback, snapshots it into a local repository, makes realistic changes, snapshots
again, and shows what the repository holds. Nothing leaves the machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from entrasnap import catalog
from entrasnap.cli.errors import fail, handle_errors
from entrasnap.store import LocalBackend, Repository

if TYPE_CHECKING:
    from entrasnap.graph import StaticToken
    from entrasnap.services.snapshot import Outcome

console = Console(stderr=True)


def demo(
    directory: Path = typer.Option(
        Path("entrasnap-demo"), "--dir", help="Where to keep the demo repository."
    ),
    size: str = typer.Option("S", "--size", help="Example tenant size: S (200 users) or M (20,000)."),
    seed: int = typer.Option(1, "--seed", help="Which example tenant."),
    quiet: bool = typer.Option(False, "--quiet", help="Less output."),
) -> None:
    """Run entrasnap on a built-in example tenant: snapshot, change, snapshot again, show the history."""
    from entrasnap.fakegraph.service import start
    from entrasnap.graph import StaticToken

    with handle_errors():
        if size not in {"S", "M"}:
            raise fail("the demo runs sizes S or M")
        store = directory / "repository"
        if store.exists() and any(store.iterdir()) and not (store / "config.json").exists():
            raise fail(f"{store} exists and is not an entrasnap repository")
        console.print(
            f"[bold]Starting an example tenant[/] (fakegraph, size {size}, seed {seed}) on loopback..."
        )
        # A faster clock keeps Graph's Conditional Access pacing (one request per second) short here.
        tenant = start(size=size, seed=seed, time_scale=0.05)
        try:
            repository = Repository.open(LocalBackend(store), create=True)
            token = StaticToken(tenant.token())
            console.print(f"Tenant {tenant.tenant_id} at {tenant.url}")
            import asyncio

            first = asyncio.run(_snapshot(tenant.url, token, repository, quiet, tenant.tenant_id))
            _summary("First snapshot", first)
            changes = _change(tenant)
            console.print(f"\n[bold]Made realistic changes[/]: {changes}")
            second = asyncio.run(_snapshot(tenant.url, token, repository, quiet, tenant.tenant_id))
            _summary("Second snapshot", second)
        finally:
            tenant.stop()
        _history(repository, store)
        _show_diff_and_report(repository, directory, store)


async def _snapshot(
    url: str, token: StaticToken, repository: Repository, quiet: bool, tenant_id: str
) -> Outcome:
    from entrasnap.cli.progress import LogProgress
    from entrasnap.collect import Options
    from entrasnap.graph import GraphClient
    from entrasnap.services.snapshot import take_snapshot

    client = GraphClient(url, token)
    try:
        return await take_snapshot(
            client,
            repository,
            list(catalog.CATALOG),
            tenant_hint=tenant_id,
            options=Options(),
            progress=None if quiet else LogProgress(),
            graph_url=url,
        )
    finally:
        await client.aclose()


def _change(tenant: Any) -> str:
    from entrasnap.fakegraph import mutate

    store = tenant.store
    with tenant.fake.lock:
        ca = store.sets["identity/conditionalAccess/policies"]

        def enforced() -> list[str]:
            return [i for i in ca.ids() if (ca.get(i) or {}).get("state") == "enabled"]

        before = set(enforced())
        # the random churn first, so that it cannot undo the named changes the demo announces
        churn = mutate.apply(store, {"action": "churn", "percent": 2, "seed": 7})
        policies = [i for i in enforced() if i in before]  # enforced in both snapshots but for the demo
        groups = store.sets["groups"].ids()
        users = store.sets["users"].ids()
        apps = store.sets["applications"].ids()
        mutate.apply(store, {"action": "report-only-ca", "id": policies[0]})
        mutate.apply(store, {"action": "add-exclusion", "id": policies[1], "principal": users[5]})
        mutate.apply(store, {"action": "add-member", "group": groups[2], "member": users[7]})
        mutate.apply(store, {"action": "add-credential", "id": apps[0]})
    return (
        f"a CA policy switched to report-only, a user excluded from another, a group member added, an app "
        f"secret added, and {len(churn['changes'])} random changes (2% churn)"
    )


def _summary(title: str, outcome: Outcome) -> None:
    record = outcome.record
    stats = record.data.get("stats", {})
    console.print(
        f"[bold]{title}[/] {record.id[:12]}: {record.status}, "
        f"{sum(i.get('count', 0) for i in record.types.values()):,} objects in {outcome.seconds:.1f}s, "
        f"{stats.get('requests', 0)} requests; {stats.get('objectsWritten', 0):,} new objects stored, "
        f"{stats.get('objectsReused', 0):,} unchanged reused, {stats.get('bytesWritten', 0):,} bytes written"
    )


def _show_diff_and_report(repository: Repository, directory: Path, store: Path) -> None:
    """What changed between the two snapshots, and the tenant documentation as one HTML page."""
    from entrasnap.services.diff import diff_snapshots
    from entrasnap.services.render_diff import render_text
    from entrasnap.services.report import build_report
    from entrasnap.services.report import render as render_report
    from entrasnap.services.timeline import CachedRepository

    records = repository.snapshots()
    cache = CachedRepository(repository)
    result = diff_snapshots(cache, records[-2], records[-1])
    console.print("\n[bold]What changed[/] (entrasnap diff previous latest):")
    render_text(result, console)
    report_path = directory / "report.html"
    report_path.write_text(render_report(build_report(repository, records[-1].id), "html"), encoding="utf-8")
    console.print(
        f"\n[bold]Tenant report[/]: open {report_path.resolve()} in a browser "
        f"(entrasnap report latest --store {store} --format html --output report.html)"
    )


def _history(repository: Repository, store: Path) -> None:
    records = repository.snapshots()
    table = Table(title=f"Snapshots in {store}", title_justify="left")
    for column in ("snapshot", "taken", "status", "objects", "changed since previous"):
        table.add_column(column)
    previous: dict[str, str | None] = {}
    for record in records:
        chunks = {k: record.manifest(k) for k in record.types}
        changed = sorted(k for k in chunks if previous and chunks[k] != previous.get(k))
        table.add_row(
            record.id[:12],
            record.data["started"],
            record.status,
            f"{sum(int(i.get('count', 0)) for i in record.types.values()):,}",
            ", ".join(changed) if previous else "(first)",
        )
        previous = chunks
    console.print(table)
    console.print(
        f"\nExplore it: [bold]entrasnap list --store {store}[/]  and  "
        f"[bold]entrasnap export latest --store {store} --to {store.parent / 'export'}[/]"
    )
