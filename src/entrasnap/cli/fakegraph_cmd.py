"""``entrasnap fakegraph``: serve a fake Microsoft Graph tenant, issue its tokens, and change it."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import uuid
from enum import Enum
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    help="A fake Microsoft Graph tenant on loopback, for demos and tests (no Microsoft service involved).",
    no_args_is_help=True,
)

LICENCE_NAMES = {"p1": "AAD_PREMIUM", "p2": "AAD_PREMIUM_P2", "governance": "ENTRA_ID_GOVERNANCE"}


class Size(str, Enum):
    S = "S"
    M = "M"
    L = "L"


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def parse_licences(text: str) -> set[str]:
    if text.strip().lower() in {"none", ""}:
        return set()
    out = set()
    for name in text.split(","):
        key = name.strip().lower()
        if key not in LICENCE_NAMES:
            raise fail(f"unknown licence {name.strip()!r}; use any of {', '.join(LICENCE_NAMES)} or 'none'")
        out.add(LICENCE_NAMES[key])
    return out


def tenant_id_for(size: str, seed: int) -> str:
    """The id of the tenant ``serve --size SIZE --seed SEED`` generates (deterministic)."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"fakegraph-tenant-{size}-{seed}"))


@app.command()
def serve(
    size: Size = typer.Option(
        Size.S, "--size", help="Tenant size preset: S (200 users), M (20,000), L (200,000)."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed: the same size and seed always give the same tenant."),
    port: int = typer.Option(8400, "--port", help="TCP port to listen on (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (keep it on loopback)."),
    state: Path | None = typer.Option(
        None,
        "--state",
        help="Keep the tenant in this file: loaded if it exists, else generated and saved; "
        "saved again after every change and on exit.",
    ),
    licenses: str = typer.Option(
        "p1,p2,governance",
        "--licenses",
        help="Licences the tenant holds (p1, p2, governance, or none). Without p2, PIM answers as Graph does "
        "for a tenant lacking Entra ID P2; without p1, Conditional Access does.",
    ),
    time_scale: float = typer.Option(
        1.0,
        "--time-scale",
        min=0.0001,
        help="Multiplies every delay: latency, throttling windows, Retry-After and the Conditional Access "
        "1-request-per-second pacing (0.01 runs 100x faster, for benchmarks of large tenants).",
    ),
    latency_ms: float = typer.Option(
        0.0, "--latency-ms", min=0.0, help="Latency model: base milliseconds per request."
    ),
    per_object_ms: float = typer.Option(
        0.0, "--per-object-ms", min=0.0, help="Latency model: extra milliseconds per object returned."
    ),
    error_rate: float = typer.Option(
        0.0, "--error-rate", min=0.0, max=1.0, help="Fault: share of requests answered 500/502/503/504."
    ),
    drop_rate: float = typer.Option(
        0.0,
        "--drop-rate",
        min=0.0,
        max=1.0,
        help="Fault: share of responses whose connection drops mid-body.",
    ),
    slow_rate: float = typer.Option(
        0.0, "--slow-rate", min=0.0, max=1.0, help="Fault: share of requests delayed by --slow-ms more."
    ),
    slow_ms: float = typer.Option(
        5000.0, "--slow-ms", min=0.0, help="Fault: the extra delay of a slow response."
    ),
    fault_seed: int = typer.Option(0, "--fault-seed", help="Seed of the fault dice."),
    no_throttling: bool = typer.Option(
        False, "--no-throttling", help="Turn the resource-unit throttling off."
    ),
    resource_units: int | None = typer.Option(
        None,
        "--resource-units",
        min=1,
        help="Throttling bucket in resource units per 10 s (default by size: 3,500 S / 5,000 M / 8,000 L).",
    ),
    delta_token_ttl: float = typer.Option(
        7 * 24 * 3600.0,
        "--delta-token-ttl",
        min=0.0,
        help="Seconds a delta token stays valid before syncStateNotFound (Graph: 7 days).",
    ),
    token_lifetime: float = typer.Option(
        3599.0,
        "--token-lifetime",
        min=1.0,
        help="Seconds an access token issued by the token endpoint lives.",
    ),
    client: list[str] = typer.Option(
        [],
        "--client",
        help="Register an app for the token endpoint as CLIENT_ID:SECRET:ROLE1,ROLE2 (its tokens carry only "
        "those roles). Unregistered clients get every permission. Repeatable.",
    ),
) -> None:
    """Serve a fake Microsoft Graph tenant over HTTP.

    Graph URLs live under /v1.0/ and /beta/; tokens come from /{tenant}/oauth2/v2.0/token; admin
    endpoints under /_fakegraph/ (info, settings, faults, clients, mutate). Any bearer token holds every
    permission, except tokens fakegraph issued, which hold only the roles they name.
    """
    from entrasnap.fakegraph import persist
    from entrasnap.fakegraph.server import Client, FakeGraph, Settings
    from entrasnap.fakegraph.tenant import generate

    chosen_licences = parse_licences(licenses)
    settings = Settings(
        time_scale=time_scale,
        latency_ms=latency_ms,
        per_object_ms=per_object_ms,
        error_rate=error_rate,
        drop_rate=drop_rate,
        slow_rate=slow_rate,
        slow_ms=slow_ms,
        throttling=not no_throttling,
        resource_units=resource_units,
        delta_token_ttl=delta_token_ttl,
        token_lifetime=token_lifetime,
        fault_seed=fault_seed,
    )
    if state is not None and state.exists():
        try:
            store = persist.load(state)
        except (OSError, ValueError) as exc:
            raise fail(f"cannot load tenant state from {state}: {exc}") from exc
        typer.echo(f"loaded tenant from {state}", err=True)
    else:
        typer.echo(f"generating tenant size {size.value}, seed {seed}...", err=True)
        store = generate(size.value, seed, chosen_licences)
    fake = FakeGraph(store, settings)
    for spec in client:
        parts = spec.split(":", 2)
        if len(parts) != 3 or not parts[0]:
            raise fail(f"--client wants CLIENT_ID:SECRET:ROLES, got {spec!r}")
        fake.clients[parts[0]] = Client(parts[1] or None, [r for r in parts[2].split(",") if r])
    if state is not None:
        try:
            persist.save(store, state)
        except OSError as exc:
            raise fail(f"cannot write tenant state to {state}: {exc}") from exc
        persist.attach_autosave(fake, state)
    import asyncio
    import gc

    # The tenant lives as long as the server: the cycle collector need not walk it again and again (M: ~1 s
    # of the server's CPU a snapshot; it holds the interpreter while it does).
    gc.collect()
    gc.freeze()
    try:
        asyncio.run(_serve(fake, host, port, state))
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


async def _serve(fake: Any, host: str, port: int, state: Path | None) -> None:
    import asyncio

    from aiohttp import web

    from entrasnap.fakegraph import persist
    from entrasnap.fakegraph.server import build_app

    runner = web.AppRunner(build_app(fake), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or []
    if sockets:
        bound = int(sockets[0].getsockname()[1])
    store = fake.store
    typer.echo(
        f"fakegraph serving tenant {store.tenant_id} ({store.domain}, size {store.size}) "
        f"at http://{host}:{bound}"
    )
    typer.echo(f"  Graph:  http://{host}:{bound}/v1.0/  and  /beta/")
    typer.echo(f"  Token:  http://{host}:{bound}/{store.tenant_id}/oauth2/v2.0/token")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    if state is not None:
        persist.save(fake.store, state)


@app.command()
def token(
    roles: str = typer.Option(
        "", "--roles", help="Application permissions the token holds, comma-separated."
    ),
    tenant: str | None = typer.Option(
        None, "--tenant", help="Tenant id (default: from --url, or --size/--seed)."
    ),
    url: str | None = typer.Option(None, "--url", help="A running fakegraph, to read its tenant id."),
    size: Size = typer.Option(Size.S, "--size", help="Size of the tenant, when neither --tenant nor --url."),
    seed: int = typer.Option(1, "--seed", help="Seed of the tenant, when neither --tenant nor --url."),
    lifetime: float = typer.Option(3599.0, "--lifetime", help="Seconds until the token expires."),
    app_id: str = typer.Option("00000000-0000-0000-0000-00000000f4ce", "--app-id", help="The appid claim."),
) -> None:
    """Print an access token for a fake tenant that carries only the named application permissions."""
    from entrasnap.fakegraph.auth import issue_token

    if tenant is None and url is not None:
        tenant = str(_admin(url, "GET", "info")["tenantId"])
    tenant = tenant or tenant_id_for(size.value, seed)
    names = [r.strip() for r in roles.split(",") if r.strip()]
    typer.echo(issue_token(tenant, names, app_id=app_id, lifetime=lifetime))


def _admin(url: str, method: str, name: str, body: Any = None) -> Any:
    import httpx

    try:
        response = httpx.request(method, f"{url.rstrip('/')}/_fakegraph/{name}", json=body, timeout=120)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach fakegraph at {url}: {exc}") from exc
    try:
        payload = response.json()
    except ValueError as exc:
        raise fail(f"{url} did not answer like fakegraph (HTTP {response.status_code})") from exc
    if response.status_code >= 400:
        raise fail(str(payload.get("error", payload)) if isinstance(payload, dict) else str(payload))
    return payload


@app.command()
def info(url: str = typer.Option("http://127.0.0.1:8400", "--url", help="The running fakegraph.")) -> None:
    """Print a running fake tenant's facts, counts and request statistics as JSON."""
    typer.echo(json.dumps(_admin(url, "GET", "info"), indent=2))


@app.command()
def mutate(
    action: str = typer.Argument(
        ...,
        help="What to change: churn, rename, disable-ca, report-only-ca, "
        "add-exclusion, remove-exclusion, add-member, remove-member, delete, hard-delete, "
        "add-credential, add-eligibility (see docs/FAKEGRAPH.md).",
    ),
    param: list[str] = typer.Option(
        [], "--set", "-s", help="A parameter of the action as KEY=VALUE. Repeatable."
    ),
    url: str | None = typer.Option(None, "--url", help="A running fakegraph to change."),
    state: Path | None = typer.Option(
        None, "--state", help="A tenant state file to change (no server running)."
    ),
) -> None:
    """Make realistic changes to a fake tenant between snapshots; prints what changed as JSON."""
    from entrasnap.fakegraph import mutate as mutations
    from entrasnap.fakegraph import persist

    body: dict[str, Any] = {"action": action}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise fail(f"--set wants KEY=VALUE, got {item!r}")
        body[key] = _scalar(value)
    if (url is None) == (state is None):
        raise fail("give exactly one of --url (a running fakegraph) or --state (a tenant state file)")
    if url is not None:
        result = _admin(url, "POST", "mutate", body)
    else:
        assert state is not None
        if not state.exists():
            raise fail(f"no tenant state file at {state}")
        try:
            store = persist.load(state)
            result = mutations.apply(store, body)
            persist.save(store, state)
        except (ValueError, KeyError) as exc:
            raise fail(str(exc)) from exc
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False))


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
