"""``entrasnap check``: verify a repository (structure, snapshot chain, signatures, optionally all data)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from entrasnap.cli.errors import handle_errors
from entrasnap.cli.key_option import KEY_OPTION
from entrasnap.cli.snapshot_cmd import STORE_HELP
from entrasnap.store import Backend, StoreError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from entrasnap.store.check import CheckReport

HELP = """Verify a repository: names every missing, corrupt or unreferenced file.

Always: config.json, every snapshot record and the chain that links them (a removed, altered,
reordered or inserted record breaks it), signatures (with --public-key), every index file, every pack
the index lists, and every manifest a snapshot needs (read and re-hashed) down to its object records
(present where the index says, not read). With --read-data, every pack is also read once and every
object in it re-hashed. Prints the chain's head (sequence and hash): log it elsewhere to notice the
newest records being removed. Holds a shared lock, so a prune waits (--no-lock for read-only access).

Exit codes: 0 no damage (warnings allowed), 1 damage found (or warnings, with --strict), 2 the check
could not run (no repository there, unreadable key file, newer format).
"""


MAX_FORGOTTEN_SHOWN = 20


class BarProgress:
    """A rich progress bar (bytes of pack data verified) on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.bar: Progress = Progress(
            TextColumn("reading packs"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.task: TaskID | None = None

    def start(self, total_bytes: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("packs", total=total_bytes)

    def advance(self, nbytes: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, nbytes)

    def stop(self) -> None:
        self.bar.stop()


def check(
    store: str = typer.Option(..., "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE"),
    read_data: bool = typer.Option(
        False, "--read-data", help="Also read every pack once and re-hash every object in it."
    ),
    public_keys: list[Path] = typer.Option(
        [],
        "--public-key",
        help="Verify every snapshot record's signature with this Ed25519 public key (PEM; repeat it for "
        "the old and new keys after a rotation); with it, an unsigned record is damage.",
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Count warnings (leftovers of interrupted runs, unknown files) as damage."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    encryption_key: str | None = KEY_OPTION,
    no_lock: bool = typer.Option(
        False,
        "--no-lock",
        help="Take no shared lock (read-only access to the storage); a prune running meanwhile may then "
        "look like damage.",
    ),
) -> None:
    from entrasnap.cli.key_option import operator_key
    from entrasnap.cli.store_option import open_store
    from entrasnap.store.check import EXIT_UNUSABLE
    from entrasnap.store.signing import public_key_from_file

    with handle_errors(EXIT_UNUSABLE):
        keys = [public_key_from_file(path) for path in public_keys]
        progress = BarProgress() if read_data and sys.stderr.isatty() else None
        try:
            operator = operator_key(encryption_key)
            report = _check(
                open_store(store),
                operator,
                not no_lock,
                read_data=read_data,
                public_keys=keys,
                progress=progress,
            )
        finally:
            if progress is not None:
                progress.stop()
    if as_json:
        typer.echo(json.dumps(report.as_json(strict), indent=2, ensure_ascii=False))
    else:
        print_report(report, strict)
    raise typer.Exit(report.exit_code(strict))


def _check(backend: Backend, operator: bytes | None, lock: bool, **options: Any) -> CheckReport:
    """Check under a shared lock (prune waits) once the repository opens; without one otherwise."""
    from entrasnap.cli.retention_cmd import lock_wait
    from entrasnap.store import Repository
    from entrasnap.store.check import check
    from entrasnap.store.lock import SHARED, RepositoryLock

    try:
        repository = Repository.open(backend, key=operator)
    except StoreError:  # check says what is wrong, or that it cannot run
        return check(backend, opener=lambda b: Repository.open(b, key=operator), **options)
    if not lock:
        return check(backend, opener=lambda _: repository, **options)
    with RepositoryLock(backend, SHARED, operation="check", wait=lock_wait()) as held:
        return check(backend, opener=lambda _: repository, own_lock=held.key, **options)


def print_report(report: CheckReport, strict: bool) -> None:
    typer.echo(
        f"repository {report.store}: {report.snapshots} snapshots, {report.index_files} index files, "
        f"{report.packs} packs ({report.pack_bytes:,} bytes), {report.objects_needed:,} objects needed"
        + (f", {report.objects_unused:,} not needed (prune removes them)" if report.objects_unused else "")
    )
    if report.read_data:
        typer.echo(f"data: {report.objects_verified:,} objects re-hashed, {report.bytes_read:,} bytes read")
    else:
        typer.echo("data: object records not read (structure only; --read-data re-hashes every object)")
    if report.head:
        head = report.head
        typer.echo(f"chain head: sequence {head['sequence']}, sha256 {head['hash']} ({head['file']})")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.signatures.items())) or "no records"
    verified = f"verified with {', '.join(report.keys)}" if report.keys else "not verified: no --public-key"
    typer.echo(f"signatures: {counts} ({verified})")
    for link in report.forgotten[:MAX_FORGOTTEN_SHOWN]:
        typer.echo(
            f"forgotten: sequence {link['sequence']}, snapshot {link['id']} of {link['tenant']} started "
            f"{link['started']}, removed {link['forgotten']} by {link['by']}"
        )
    if len(report.forgotten) > MAX_FORGOTTEN_SHOWN:
        typer.echo(f"forgotten: {len(report.forgotten) - MAX_FORGOTTEN_SHOWN} more (--json lists every one)")
    for problem in report.problems:
        colour = typer.colors.RED if problem.severity == "damage" else typer.colors.YELLOW
        typer.secho(f"{problem.severity}: {problem.key}: {problem.message}", fg=colour)
    if report.damaged_snapshots:
        listed = "; ".join(f"{s} ({', '.join(types)})" for s, types in report.damaged_snapshots.items())
        typer.secho(f"damaged snapshots: {listed}", fg=typer.colors.RED)
    damage, warnings = len(report.damage), len(report.warnings)
    if report.exit_code(strict):
        typer.secho(f"{damage} damage, {warnings} warnings", fg=typer.colors.RED, bold=True)
    else:
        typer.secho(f"no damage found ({warnings} warnings)", fg=typer.colors.GREEN)
