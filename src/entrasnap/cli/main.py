"""The ``entrasnap`` command."""

from __future__ import annotations

import typer

from entrasnap import __version__
from entrasnap.cli import (
    check_cmd,
    demo_cmd,
    diff_cmd,
    encryption_cmd,
    fakegraph_cmd,
    key_cmd,
    report_cmd,
    retention_cmd,
    snapshot_cmd,
    timeline_cmd,
)

app = typer.Typer(
    name="entrasnap",
    help="Point-in-time history of a Microsoft Entra ID tenant's configuration.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("snapshot")(snapshot_cmd.snapshot)
app.command("list")(snapshot_cmd.list_snapshots)
app.command("export")(snapshot_cmd.export)
app.command("permissions")(snapshot_cmd.permissions)
app.command("diff", help=diff_cmd.HELP)(diff_cmd.diff)
app.command("demo")(demo_cmd.demo)
app.command("show")(timeline_cmd.show)
app.command("history")(timeline_cmd.history)
app.command("report")(report_cmd.report)
app.command("check", help=check_cmd.HELP)(check_cmd.check)
app.command("forget")(retention_cmd.forget)
app.command("prune")(retention_cmd.prune)
app.command("unlock")(retention_cmd.unlock)
app.command("copy")(retention_cmd.copy)
app.add_typer(fakegraph_cmd.app, name="fakegraph")
app.add_typer(key_cmd.app, name="key")
encryption_cmd.register(key_cmd.app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"entrasnap {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Point-in-time history of a Microsoft Entra ID tenant's configuration."""
    quiet_library_logs()


def quiet_library_logs() -> None:
    """azure-identity logs a failed sign-in as a multi-line warning; the CLI reports it in one line itself."""
    import logging

    azure = logging.getLogger("azure")
    if not azure.handlers:
        azure.addHandler(logging.NullHandler())
