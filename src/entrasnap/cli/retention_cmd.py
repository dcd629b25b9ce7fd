"""``entrasnap forget``, ``prune``, ``unlock`` and ``copy``: retention and replication of a repository."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from entrasnap.cli.errors import fail, handle_errors
from entrasnap.cli.key_option import KEY_OPTION, REFERENCE_HELP
from entrasnap.cli.snapshot_cmd import STORE_HELP, open_repository
from entrasnap.store import Repository, SnapshotRecord
from entrasnap.store.lock import EXCLUSIVE, SHARED, RepositoryLock

LOCK_WAIT_ENV = "ENTRASNAP_LOCK_WAIT"
DEFAULT_LOCK_WAIT = 60.0
LOCK_WAIT_HELP = "Seconds to wait for a conflicting repository lock (e.g. a running snapshot) to go away."
err = Console(stderr=True)
# Options the four commands share (a typer Option may serve as several parameters' default).
STORE_OPTION: Any = typer.Option(..., "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE")
JSON_OPTION: Any = typer.Option(False, "--json", help="Print JSON.")
LOCK_WAIT_OPTION: Any = typer.Option(
    DEFAULT_LOCK_WAIT, "--lock-wait", min=0, envvar=LOCK_WAIT_ENV, help=LOCK_WAIT_HELP
)


def lock_wait(environ: dict[str, str] | None = None) -> float:
    """``ENTRASNAP_LOCK_WAIT`` in seconds (what ``snapshot`` waits for a prune's lock), default 60."""
    value = (os.environ if environ is None else environ).get(LOCK_WAIT_ENV, "").strip()
    try:
        return float(value) if value else DEFAULT_LOCK_WAIT
    except ValueError:
        raise fail(f"{LOCK_WAIT_ENV}={value!r} is not a number of seconds") from None


@contextmanager
def repository_lock(
    repository: Repository, kind: str, operation: str, wait: float | None = None
) -> Iterator[None]:
    """Hold a shared or exclusive repository lock (store/lock.py) around a command's work."""
    with RepositoryLock(
        repository.backend, kind, operation=operation, wait=lock_wait() if wait is None else wait
    ):
        yield


def _short(record: SnapshotRecord) -> dict[str, Any]:
    return {"id": record.id, "started": record.data["started"], "status": record.status}


def forget(
    store: str = STORE_OPTION,
    keep_last: int = typer.Option(0, "--keep-last", min=-1, help="Keep the N newest snapshots (-1: all)."),
    keep_daily: int = typer.Option(
        0, "--keep-daily", min=-1, help="Keep the newest snapshot of each of N days."
    ),
    keep_weekly: int = typer.Option(0, "--keep-weekly", min=-1, help="... of each of N ISO weeks."),
    keep_monthly: int = typer.Option(0, "--keep-monthly", min=-1, help="... of each of N months."),
    keep_yearly: int = typer.Option(0, "--keep-yearly", min=-1, help="... of each of N years."),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's snapshots (id or domain)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be removed; remove nothing."),
    as_json: bool = JSON_OPTION,
    wait: float = LOCK_WAIT_OPTION,
    encryption_key: str | None = KEY_OPTION,
) -> None:
    """Remove snapshots a keep-policy does not keep (per tenant; days, weeks... in UTC), as restic does.

    Each rule keeps the newest snapshot of each of its N most recent days / weeks / months / years
    that have one (and, while it has count left, the oldest snapshot). `prune` then frees the storage.
    """
    from entrasnap.store import retention

    policy = retention.Policy(
        last=keep_last, daily=keep_daily, weekly=keep_weekly, monthly=keep_monthly, yearly=keep_yearly
    )
    with handle_errors():
        if policy.empty():
            raise fail(
                "no policy: give at least one of --keep-last/-daily/-weekly/-monthly/-yearly (nothing removed)"
            )
        repository = open_repository(store, create=False, encryption_key=encryption_key)
        with repository_lock(repository, EXCLUSIVE, "forget", wait):
            decisions = retention.plan(repository, policy, tenant)
            doomed = [r for d in decisions for r in d.remove]
            if not dry_run:
                retention.forget(repository, doomed)
        if as_json:
            body = {
                "dryRun": dry_run,
                "policy": dict(policy.rules()),
                "tenants": [
                    {
                        "tenant": d.tenant,
                        "keep": [{**_short(r), "reasons": why} for r, why in d.keep],
                        "remove": [_short(r) for r in d.remove],
                    }
                    for d in decisions
                ],
                "removed": 0 if dry_run else len(doomed),
            }
            typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
            return
        out = Console()
        for d in decisions:
            out.print(
                f"[bold]{d.tenant}[/bold]: {policy.describe()} — {len(d.keep)} kept, {len(d.remove)} removed"
            )
            rows = [(r, "keep", ", ".join(why)) for r, why in d.keep] + [(r, "remove", "") for r in d.remove]
            for r, verdict, why in sorted(rows, key=lambda row: row[0].data["started"], reverse=True):
                colour = "green" if verdict == "keep" else "red"
                when = r.data["started"][:19].replace("T", " ")
                out.print(f"  [{colour}]{verdict:<6}[/{colour}] {r.id[:12]}  {when}  {why}")
        if dry_run:
            err.print(f"dry run: {len(doomed)} snapshot(s) would be removed; nothing was changed")
        elif doomed:
            err.print(
                f"removed {len(doomed)} snapshot(s); run `entrasnap prune` to free the storage they alone used"
            )
        else:
            err.print("nothing to remove")


def prune(
    store: str = STORE_OPTION,
    max_unused: float = typer.Option(
        50.0,
        "--max-unused",
        min=0,
        max=100,
        metavar="PERCENT",
        help="Repack packs with more unused bytes than this.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be removed; change nothing."),
    as_json: bool = JSON_OPTION,
    wait: float = LOCK_WAIT_OPTION,
    encryption_key: str | None = KEY_OPTION,
) -> None:
    """Delete the data no snapshot uses any more (mark and sweep, under an exclusive lock).

    Packs with nothing in use are deleted, mostly-unused ones repacked, the index consolidated, and
    leftovers of interrupted runs (older than an hour) removed. Prints storage used before and after.
    """
    from entrasnap.store import prune as sweep
    from entrasnap.store.lock import check_held

    with handle_errors():
        repository = open_repository(store, create=False, encryption_key=encryption_key)
        with repository_lock(repository, EXCLUSIVE, "prune", wait):
            todo = sweep.plan(repository, max_unused=max_unused / 100)
            check = partial(check_held, repository.backend)  # a lost lock stops prune before it deletes
            outcome = None if dry_run else sweep.execute(repository, todo, ensure_held=check)
            before = outcome.before if outcome else sweep.usage(repository.backend)
        after = outcome.after if outcome else None
        if as_json:
            body = {
                "dryRun": dry_run,
                **todo.to_json(),
                "before": before.to_json(),
                "after": after.to_json() if after else None,
                "packsWritten": outcome.packs_written if outcome else 0,
            }
            typer.echo(json.dumps(body, indent=2))
            return
        verb = "would be" if dry_run else "were"
        err.print(f"storage before: {_usage(before)}")
        err.print(f"{len(todo.live):,} objects in use by the snapshots; {_size(todo.unused_bytes)} unused")
        err.print(
            f"packs: {len(todo.delete)} unused {verb} deleted, {len(todo.repack)} mostly unused {verb} repacked "
            f"({_size(todo.copy_bytes)} in use copied), {len(todo.keep)} kept"
        )
        if todo.orphans or todo.temps or todo.young_orphans or todo.missing:
            err.print(
                f"leftovers of interrupted runs: {len(todo.orphans)} unindexed pack(s) and {len(todo.temps)} "
                f"temporary file(s) {verb} deleted; {len(todo.young_orphans)} younger than an hour kept; "
                f"{len(todo.missing)} missing pack(s) dropped from the index"
            )
        if after is not None:
            err.print(f"storage after:  {_usage(after)}; freed {_size(before.bytes - after.bytes)}")
        else:
            err.print("dry run: nothing was changed")


def unlock(
    store: str = STORE_OPTION,
    remove_all: bool = typer.Option(
        False,
        "--remove-all",
        help="Remove every lock, live ones too (only when no entrasnap is running there).",
    ),
) -> None:
    """Remove stale locks: those of ended processes (same host) or not refreshed for 30 minutes."""
    from entrasnap.cli.store_option import open_store
    from entrasnap.store.lock import remove_locks
    from entrasnap.store.repository import CONFIG_KEY

    with handle_errors():
        backend = open_store(store)
        if not backend.exists(CONFIG_KEY):
            raise fail(f"{store} is not an entrasnap repository (no config.json)")
        removed = remove_locks(backend, everything=remove_all)
        for lock in removed:
            err.print(f"removed {lock.describe()}")
        err.print(f"{len(removed)} lock(s) removed" if removed else "no stale locks")


def copy(
    source: str = typer.Option(..., "--from", help="The repository to copy from. " + STORE_HELP),
    target: str = typer.Option(..., "--to", help="The repository to copy into (created on first use)."),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's snapshots (id or domain)."),
    as_json: bool = JSON_OPTION,
    wait: float = LOCK_WAIT_OPTION,
    encryption_key: str | None = KEY_OPTION,
    from_key: str | None = typer.Option(
        None,
        "--from-encryption-key",
        metavar="REF",
        help="The source's key, when it differs. " + REFERENCE_HELP,
    ),
    signing_key: Path | None = typer.Option(
        None,
        "--signing-key",
        envvar="ENTRASNAP_SIGNING_KEY",
        help="Sign the copied records with this Ed25519 private key (PEM), as `snapshot --signing-key` does.",
    ),
) -> None:
    """Copy snapshots into another repository (e.g. local to Azure), skipping what is already there.

    Snapshots the target holds (same id) are skipped and objects it holds are not copied again, so
    running copy after every snapshot sends only what is new.
    """
    from entrasnap.store.copy import Copier
    from entrasnap.store.retention import matches_tenant

    with handle_errors():
        from entrasnap.store.signing import signer_from_file

        signer = signer_from_file(signing_key) if signing_key is not None else None  # before any write
        src = _open_source(source, from_key, encryption_key)
        dst = open_repository(target, create=True, encryption_key=encryption_key)
        dst.signer = signer
        with repository_lock(src, SHARED, "copy", wait), repository_lock(dst, SHARED, "copy", wait):
            copier = Copier(src, dst)
            if sys.stderr.isatty() and not as_json:
                from rich.progress import Progress

                total = sum(1 for r in src.snapshots() if matches_tenant(r, tenant))
                with Progress(console=err, transient=True) as bar:
                    task = bar.add_task("copying snapshots", total=total)
                    result = copier.copy(tenant, lambda record, copied: bar.advance(task))
            else:
                result = copier.copy(tenant)
        stats = result.stats
        if as_json:
            body = {
                "copied": [_short(r) for r in result.copied],
                "skipped": [_short(r) for r in result.skipped],
                "objectsWritten": stats.objects_written,
                "objectsPresent": stats.objects_reused,
                "bytesWritten": stats.bytes_written,
            }
            typer.echo(json.dumps(body, indent=2))
            return
        for record in result.copied:
            err.print(f"copied {record.id[:12]} ({record.data['started'][:19].replace('T', ' ')})")
        err.print(
            f"{len(result.copied)} snapshot(s) copied, {len(result.skipped)} already there; "
            f"{stats.objects_written:,} objects written ({_size(stats.bytes_written)}), "
            f"{stats.objects_reused:,} already present"
        )


def _open_source(store: str, from_key: str | None, default_key: str | None) -> Repository:
    """The source, with --from-encryption-key, else with the default key only if it is encrypted."""
    if from_key is not None:
        return open_repository(store, create=False, encryption_key=from_key)
    from entrasnap.cli.store_option import open_store
    from entrasnap.store.repository import CONFIG_KEY

    backend = open_store(store)
    encrypted = b'"encryption"' in backend.read(CONFIG_KEY)
    if encrypted:
        return open_repository(store, create=False, encryption_key=default_key)
    return Repository.open(backend)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n:,} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:,.1f} {unit}"


def _usage(usage: Any) -> str:
    areas = ", ".join(f"{k} {n:,}" for k, (n, _) in sorted(usage.areas.items()))
    return f"{usage.files:,} files, {_size(usage.bytes)} ({areas})"
