"""The ``entrasnap`` command.

Each command lives in its own module. ``run`` (the console script) imports only the module of the
command being run, so ``entrasnap show`` does not pay for importing ``snapshot``'s or ``check``'s
dependencies; ``--help`` and unknown words load every command. ``app`` (used by tests and by
``typer``'s tooling) is the full application, built on first access.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

from entrasnap import __version__

# command name -> (module under entrasnap.cli, function, name of a module constant holding its help or "")
COMMANDS: dict[str, tuple[str, str, str]] = {
    "snapshot": ("snapshot_cmd", "snapshot", ""),
    "list": ("snapshot_cmd", "list_snapshots", ""),
    "export": ("snapshot_cmd", "export", ""),
    "permissions": ("snapshot_cmd", "permissions", ""),
    "diff": ("diff_cmd", "diff", "HELP"),
    "demo": ("demo_cmd", "demo", ""),
    "show": ("timeline_cmd", "show", ""),
    "history": ("timeline_cmd", "history", ""),
    "report": ("report_cmd", "report", ""),
    "check": ("check_cmd", "check", "HELP"),
    "forget": ("retention_cmd", "forget", ""),
    "prune": ("retention_cmd", "prune", ""),
    "unlock": ("retention_cmd", "unlock", ""),
    "copy": ("retention_cmd", "copy", ""),
}
GROUPS = ("fakegraph", "key")


def build(only: str | None = None) -> typer.Typer:
    """The application with every command, or with just ``only`` (a command or group name)."""
    application = typer.Typer(
        name="entrasnap",
        help="Point-in-time history of a Microsoft Entra ID tenant's configuration.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    application.callback()(main)
    for name, (module_name, function, help_name) in COMMANDS.items():
        if only in (None, name):
            module = importlib.import_module(f"entrasnap.cli.{module_name}")
            help_text = getattr(module, help_name) if help_name else None
            application.command(name, help=help_text)(getattr(module, function))
    if only in (None, "fakegraph"):
        from entrasnap.cli import fakegraph_cmd

        application.add_typer(fakegraph_cmd.app, name="fakegraph")
    if only in (None, "key"):
        from entrasnap.cli import encryption_cmd, key_cmd

        application.add_typer(key_cmd.app, name="key")
        encryption_cmd.register(key_cmd.app)
    return application


def run() -> None:
    """The console script: build only the command named on the command line, then run it."""
    words = [word for word in sys.argv[1:] if not word.startswith("-")]
    if words and (words[0] in COMMANDS or words[0] in GROUPS):
        build(words[0])()
    elif not words and "--version" in sys.argv[1:]:
        build("")()  # no command needed to print the version
    else:
        build()()


def __getattr__(name: str) -> Any:
    if name == "app":
        application = build()
        globals()["app"] = application
        return application
    raise AttributeError(name)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"entrasnap {__version__}")
        raise typer.Exit()


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
