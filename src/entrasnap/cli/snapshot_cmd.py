"""``entrasnap snapshot``, ``list``, ``export`` and ``permissions``."""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType
from entrasnap.cli.config import AuthChoice, Config, ConfigError, TenantConfig, load
from entrasnap.cli.errors import fail, handle_errors
from entrasnap.cli.key_option import KEY_OPTION
from entrasnap.store import Repository, SnapshotRecord

if TYPE_CHECKING:
    from rich.console import Console

    from entrasnap.collect import Options
    from entrasnap.services.snapshot import Outcome

# Commands import the graph layer and the services they run lazily, so that read-only commands such as
# `show` start fast (rich too: output on a pipe is JSON).

STORE_HELP = (
    "Repository: a local folder (created on first use), az://ACCOUNT/CONTAINER\\[/PREFIX] or "
    "https://ACCOUNT.blob.core.windows.net/CONTAINER\\[/PREFIX] (Azure Blob; see docs/AZURE.md)."
)


@cache
def err_console() -> Console:
    """Progress and summaries go to stderr."""
    from rich.console import Console

    return Console(stderr=True)


def open_repository(store: str, *, create: bool, encryption_key: str | None = None) -> Repository:
    """The repository at ``store``, unlocked with the key ``--encryption-key`` (or its env var) names."""
    from entrasnap.cli.key_option import operator_key
    from entrasnap.cli.store_option import open_store
    from entrasnap.store.record_cache import RecordCache

    repository = Repository.open(open_store(store), create=create, key=operator_key(encryption_key))
    cache_dir = record_cache_dir()
    if cache_dir is not None:
        repository.record_cache = RecordCache(cache_dir, repository.id)
    return repository


def record_cache_dir() -> Path | None:
    """Where snapshot record heads are cached: ENTRASNAP_CACHE_DIR ("off" disables), else the user's
    cache directory ($XDG_CACHE_HOME or ~/.cache, then entrasnap)."""
    chosen = os.environ.get("ENTRASNAP_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "none", "0") else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "entrasnap"


def choose_tenant(config: Config, tenant: str | None) -> TenantConfig:
    """A configured tenant by name, or an ad-hoc one from a tenant id or domain."""
    if tenant and tenant in config.tenants:
        return config.tenants[tenant]
    if tenant is None and len(config.tenants) == 1:
        return next(iter(config.tenants.values()))
    if tenant is None:
        names = ", ".join(sorted(config.tenants)) or "none configured"
        raise ConfigError(f"name a tenant with --tenant (a tenant id, domain, or config name: {names})")
    defaults = {k: v for k, v in config.defaults.items() if k not in {"store", "tenant_id"}}
    return TenantConfig(name=tenant, tenant_id=tenant, **defaults)  # [defaults] apply to ad-hoc tenants too


def select_types(include: list[str], exclude: list[str]) -> list[ResourceType]:
    try:
        chosen = catalog.resolve(include) if include else list(catalog.CATALOG)
        dropped = {t.key for t in catalog.resolve(exclude)} if exclude else set()
    except ValueError as exc:
        raise fail(str(exc)) from exc
    types = [t for t in chosen if t.key not in dropped]
    # Parent types come along with the types scoped by them (PIM for groups needs the groups).
    keys = {t.key for t in types}
    missing = [catalog.BY_KEY[t.parent.type] for t in types if t.parent and t.parent.type not in keys]
    if missing:
        keys |= {m.key for m in missing}
    ordered = [t for t in catalog.CATALOG if t.key in keys]
    if not ordered:
        raise fail("no resource types left to capture after --types/--exclude-types")
    return ordered


def split_list(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def snapshot(
    store: str | None = typer.Option(None, "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE"),
    encryption_key: str | None = KEY_OPTION,
    tenant: str | None = typer.Option(
        None,
        "--tenant",
        help="Tenant id or domain, or the name of a [tenant.NAME] table in the config file.",
        envvar="ENTRASNAP_TENANT",
    ),
    access_token: str | None = typer.Option(
        None,
        "--access-token",
        envvar="ENTRASNAP_ACCESS_TOKEN",
        show_envvar=True,
        help="A Graph bearer token obtained elsewhere (never logged).",
    ),
    auth: AuthChoice | None = typer.Option(
        None,
        "--auth",
        help="How to sign in; default: from config, else the AZURE_* environment variables, "
        "else the Azure CLI.",
    ),
    client_id: str | None = typer.Option(
        None, "--client-id", help="App (client) id; default AZURE_CLIENT_ID."
    ),
    certificate: Path | None = typer.Option(None, "--certificate", help="PEM/PFX certificate for the app."),
    cloud: str | None = typer.Option(
        None,
        "--cloud",
        help="global, usgov, usgov-dod or china: picks the Graph host and the sign-in authority together.",
    ),
    graph_url: str | None = typer.Option(
        None, "--graph-url", help="Override the Graph host (e.g. fakegraph)."
    ),
    authority: str | None = typer.Option(None, "--authority", help="Override the sign-in authority host."),
    config_path: Path | None = typer.Option(
        None, "--config", help="Config file (default: $ENTRASNAP_CONFIG or ~/.config/entrasnap/config.toml)."
    ),
    types: list[str] = typer.Option(
        [],
        "--types",
        help="Catalog keys or groups to capture (comma-separated "
        "or repeated); default everything. See `entrasnap permissions --list`.",
    ),
    exclude_types: list[str] = typer.Option([], "--exclude-types", help="Catalog keys or groups to skip."),
    cloud_only: bool = typer.Option(
        False, "--cloud-only", help="Only cloud users and groups (not synced from on-premises AD)."
    ),
    concurrency: int = typer.Option(
        16, "--concurrency", min=1, max=64, help="Most Graph requests in flight."
    ),
    full: bool = typer.Option(
        False, "--full", help="Read every type in full, not from the previous snapshot's delta links."
    ),
    full_every: float | None = typer.Option(
        None,
        "--full-every",
        min=0,
        metavar="DAYS",
        help="Read delta-capable types in full when their last full read is this old (default 7, or "
        "full_every_days in the config); in between, only what changed is read.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the snapshot record as JSON."),
    signing_key: Path | None = typer.Option(
        None,
        "--signing-key",
        envvar="ENTRASNAP_SIGNING_KEY",
        help="Sign the snapshot record with this Ed25519 private key (PEM; `entrasnap key generate`).",
    ),
) -> None:
    """Capture the tenant's whole configuration as one immutable snapshot.

    Exit codes: 0 complete, 2 partial (some types not captured: each has a status), 1 failed.
    """
    from datetime import timedelta

    from entrasnap.cli.auth import token_provider, token_tenant
    from entrasnap.collect import Options
    from entrasnap.graph.clouds import CLOUDS

    with handle_errors(), ExitStack() as held:
        config = load(config_path)
        if tenant is None and access_token and not config.tenants:
            tenant = token_tenant(access_token)  # the token names its tenant
        chosen = choose_tenant(config, tenant)
        store = store or chosen.store or config.defaults.get("store")
        if not store:
            raise fail("no repository: pass --store PATH (or set store in the config file)")
        include = split_list(types) or chosen.types
        exclude = split_list(exclude_types) or chosen.exclude_types
        selected = select_types(include, exclude)
        cloud_name = cloud or chosen.cloud
        if cloud_name not in CLOUDS:
            raise fail(f"unknown cloud {cloud_name!r}; use one of {', '.join(CLOUDS)}")
        base = (graph_url or chosen.graph_url or CLOUDS[cloud_name].graph).rstrip("/")
        tokens = token_provider(
            chosen,
            environ=dict(os.environ),
            access_token=access_token,
            auth=auth,
            client_id=client_id,
            certificate=certificate,
            cloud=cloud_name,
            graph_url=base,
            authority=authority or chosen.authority,
        )
        from entrasnap.store.signing import signer_from_file

        signer = signer_from_file(signing_key) if signing_key is not None else None  # before any write
        repository = open_repository(str(store), create=True, encryption_key=encryption_key)
        repository.signer = signer
        from entrasnap.cli.retention_cmd import repository_lock

        held.enter_context(repository_lock(repository, "shared", "snapshot"))  # prune waits for it
        import asyncio

        outcome = asyncio.run(
            _run(
                base,
                tokens,
                repository,
                selected,
                chosen,
                Options(
                    cloud_only=cloud_only or chosen.cloud_only,
                    full=full,
                    full_every=timedelta(days=chosen.full_every_days if full_every is None else full_every),
                ),
                concurrency,
            )
        )
        report(outcome, as_json)
        raise typer.Exit(outcome.exit_code)


async def _run(
    base: str,
    tokens: Any,
    repository: Repository,
    types: list[ResourceType],
    tenant: TenantConfig,
    options: Options,
    concurrency: int,
) -> Outcome:
    from entrasnap.cli.progress import LiveProgress, LogProgress
    from entrasnap.collect import Progress
    from entrasnap.graph import GraphClient
    from entrasnap.services.snapshot import take_snapshot

    client = GraphClient(base, tokens, max_concurrency=concurrency)
    hint, expected = tenant.tenant_id or tenant.name, tenant.tenant_id
    from entrasnap.cli.auth import token_tenant
    from entrasnap.graph import StaticToken

    known = token_tenant(await tokens.token()) if isinstance(tokens, StaticToken) else None
    try:
        if sys.stderr.isatty():

            def waits() -> tuple[int, float]:
                return client.stats.throttled, client.stats.wait_seconds

            with LiveProgress(err_console(), waits) as live:
                return await take_snapshot(
                    client,
                    repository,
                    types,
                    options=options,
                    progress=live,
                    graph_url=base,
                    tenant_hint=hint,
                    expected_tenant=expected,
                    token_tenant=known,
                )
        progress: Progress = LogProgress()
        return await take_snapshot(
            client,
            repository,
            types,
            options=options,
            progress=progress,
            graph_url=base,
            tenant_hint=hint,
            expected_tenant=expected,
            token_tenant=known,
        )
    finally:
        await client.aclose()
        close = getattr(tokens, "aclose", None)
        if close is not None:
            await close()


def report(outcome: Outcome, as_json: bool) -> None:
    record = outcome.record
    if as_json:
        typer.echo(json.dumps(record.data, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    stats = record.data.get("stats", {})
    summary = Table(
        title=f"snapshot {record.id[:12]} of {record.tenant.get('domain') or record.tenant.get('id')}"
        f" — {record.status}",
        title_justify="left",
    )
    for column in ("type", "status", "objects", "read", "detail"):
        summary.add_column(column)
    for key, info in record.types.items():
        mode = (info.get("delta") or {}).get("mode", "")
        detail = ""
        if info.get("error"):
            error = info["error"]
            detail = error.get("message", "")
            if error.get("permission"):
                detail = f"needs {error['permission']}: {detail}"
        summary.add_row(key, info["status"], f"{info.get('count', 0):,}", mode, detail[:100])
    err_console().print(summary)
    err_console().print(
        f"{sum(i.get('count', 0) for i in record.types.values()):,} objects in {outcome.seconds:.1f}s; "
        f"{stats.get('requests', 0):,} requests, {stats.get('throttled', 0)} throttled; "
        f"{stats.get('objectsWritten', 0):,} new objects, {stats.get('bytesWritten', 0):,} bytes written"
    )


def list_snapshots(
    store: str = typer.Option(..., "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE"),
    encryption_key: str | None = KEY_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the repository's snapshots: time, tenant, status and object counts."""
    with handle_errors():
        repository = open_repository(store, create=False, encryption_key=encryption_key)
        records = repository.snapshots()
        if as_json:
            typer.echo(json.dumps([summary_of(r) for r in records], indent=2, ensure_ascii=False))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{len(records)} snapshot(s) in {store}", title_justify="left")
        for column in ("id", "started", "tenant", "status", "objects", "types not ok"):
            table.add_column(column)
        for record in records:
            info = summary_of(record)
            table.add_row(
                info["id"][:12],
                info["started"][:19].replace("T", " "),
                info["tenant"],
                info["status"],
                f"{info['objects']:,}",
                ", ".join(info["notOk"]) or "-",
            )
        Console().print(table)


def summary_of(record: SnapshotRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "started": record.data["started"],
        "finished": record.data["finished"],
        "tenant": record.tenant.get("domain") or record.tenant.get("id"),
        "tenantId": record.tenant.get("id"),
        "status": record.status,
        "objects": sum(int(i.get("count", 0)) for i in record.types.values()),
        "counts": {k: i.get("count", 0) for k, i in record.types.items()},
        "notOk": sorted(k for k, i in record.types.items() if i.get("status") != "ok"),
    }


def export(
    snapshot_ref: str = typer.Argument(
        ...,
        metavar="SNAPSHOT",
        help="Snapshot id (or prefix), 'latest', 'previous', or a date/time: the last snapshot at or before it.",
    ),
    store: str = typer.Option(..., "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE"),
    encryption_key: str | None = KEY_OPTION,
    to: Path = typer.Option(..., "--to", help="A new or empty folder to write the JSON files into."),
    tenant: str | None = typer.Option(
        None,
        "--tenant",
        help="Tenant id or domain, when the repository holds several.",
        envvar="ENTRASNAP_TENANT",
    ),
) -> None:
    """Export a snapshot as plain JSON files: one per object, children beside it, and a manifest."""
    with handle_errors():
        from entrasnap.services.export import export_snapshot
        from entrasnap.services.timeline import pick, tenant_records

        repository = open_repository(store, create=False, encryption_key=encryption_key)
        record = pick(tenant_records(repository, tenant), snapshot_ref)

        summary = export_snapshot(repository, record, to)
        err_console().print(
            f"exported {summary.objects:,} objects of snapshot {record.id[:12]} "
            f"({record.data['started']}) to {summary.directory}"
        )


def permissions(
    types: list[str] = typer.Option([], "--types", help="Catalog keys or groups (default: everything)."),
    exclude_types: list[str] = typer.Option([], "--exclude-types", help="Catalog keys or groups to skip."),
    access_token: str | None = typer.Option(
        None,
        "--access-token",
        envvar="ENTRASNAP_ACCESS_TOKEN",
        help="Also say which permissions this token lacks.",
    ),
    list_types: bool = typer.Option(False, "--list", help="List catalog keys and groups instead."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The least-privilege application permissions for the chosen types (from the catalog)."""
    with handle_errors():
        if list_types:
            rows = [
                {"key": t.key, "group": t.group, "title": t.title, "permission": t.permission}
                for t in catalog.CATALOG
            ]
            if as_json:
                typer.echo(json.dumps({"types": rows, "groups": catalog.GROUPS}, indent=2))
            else:
                for row in rows:
                    typer.echo(f"{row['key']:<48} {row['group']:<20} {row['title']}")
            return
        selected = select_types(split_list(types), split_list(exclude_types))
        needed = catalog.permissions(selected)
        missing: list[str] | None = None
        if access_token:
            from entrasnap.cli.auth import token_roles

            held = set(token_roles(access_token))
            missing = [p for p in needed if p not in held]
        if as_json:
            typer.echo(json.dumps({"permissions": needed, "missing": missing}, indent=2))
            return
        for name in needed:
            mark = "" if missing is None else ("  MISSING" if name in missing else "  ok")
            typer.echo(f"{name}{mark}")
        if missing:
            raise typer.Exit(2)
