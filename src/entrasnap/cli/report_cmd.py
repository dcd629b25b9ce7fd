"""``entrasnap report``: tenant documentation for auditors from one snapshot."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from entrasnap.cli.errors import fail, handle_errors
from entrasnap.cli.key_option import KEY_OPTION
from entrasnap.cli.snapshot_cmd import STORE_HELP, open_repository

TENANT_HELP = "Tenant id or domain, when the repository holds several tenants."


class ReportFormat(str, Enum):
    html = "html"
    markdown = "markdown"


def report(
    snapshot: str | None = typer.Argument(
        None,
        metavar="[SNAPSHOT]",
        help="Snapshot id (or prefix), 'latest', 'previous' or a date; default latest.",
    ),
    store: str = typer.Option(..., "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE"),
    encryption_key: str | None = KEY_OPTION,
    tenant: str | None = typer.Option(None, "--tenant", help=TENANT_HELP),
    fmt: ReportFormat = typer.Option(
        ReportFormat.html, "--format", help="html (one self-contained page) or markdown."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write; default standard output."
    ),
) -> None:
    """Document the tenant as it was at one snapshot: Conditional Access in plain language, PIM roles and
    settings, applications' permissions and credentials, groups, administrative units and coverage."""
    with handle_errors():
        repository = open_repository(store, create=False, encryption_key=encryption_key)
        from entrasnap.services.report import build_report, render

        text = render(build_report(repository, snapshot, tenant), fmt.value)
        if output is None:
            typer.echo(text, nl=False)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write {output}: {exc.strerror or exc}") from None
        typer.echo(f"wrote {fmt.value} report to {output}", err=True)
