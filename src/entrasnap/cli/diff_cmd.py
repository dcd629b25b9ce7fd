"""``entrasnap diff A B``: what changed between two snapshots, with risk flags."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import typer

from entrasnap import catalog
from entrasnap.cli.errors import fail, handle_errors
from entrasnap.cli.key_option import KEY_OPTION
from entrasnap.cli.snapshot_cmd import STORE_HELP, open_repository, split_list

if TYPE_CHECKING:
    from entrasnap.services.diff import SnapshotDiff

FORMATS = ("text", "json", "markdown", "html")  # services.render_diff.FORMATS; checked by a test

EXIT_CHANGES = 1
EXIT_ERROR = 2
SUFFIXES = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}

HELP = (
    "Show what changed between snapshots A and B (ids or prefixes, 'latest', 'previous', or a date/time"
    " such as 2026-11-27: the last snapshot at or before it).\n\n"
    "Per type: objects added, removed and modified, property by property; ids shown with the names they"
    " had. Security-relevant changes carry risk flags (docs/DIFF.md lists the rules). Types not captured"
    " in either snapshot are listed apart and never reported as deletions.\n\n"
    "Exit status: 0 success (with --exit-code: no changes shown); 1 with --exit-code when changes are"
    " shown; 2 on any error (unknown snapshot, damaged repository, bad option)."
)


def choose_format(requested: str | None, output: Path | None) -> str:
    """--format; else from --output's suffix; else text on a terminal and JSON on a pipe."""
    if requested is not None:
        if requested not in FORMATS:
            raise fail(f"unknown format {requested!r}: choose {', '.join(FORMATS)}", EXIT_ERROR)
        return requested
    if output is not None:
        return SUFFIXES.get(output.suffix.lower(), "text")
    return "text" if sys.stdout.isatty() else "json"


def render(result: SnapshotDiff, fmt: str, output: Path | None) -> None:
    from entrasnap.services.render_diff import render_html, render_json_bytes, render_markdown, render_text

    if fmt == "text":
        from rich.console import Console

        if output is None:
            render_text(result, Console(highlight=False, soft_wrap=True))
            return
        with output.open("w", encoding="utf-8") as handle:
            render_text(
                result, Console(file=handle, highlight=False, width=160, no_color=True, soft_wrap=True)
            )
        return
    if fmt == "json":
        data = render_json_bytes(result)  # written as bytes: tens of MB are not decoded and encoded again
        if output is not None:
            output.write_bytes(data)
            return
        buffer: BinaryIO | None = getattr(sys.stdout, "buffer", None)  # none for a replaced text stream
        if buffer is None:
            sys.stdout.write(data.decode())
            return
        sys.stdout.flush()
        buffer.write(data)
        buffer.flush()
        return
    text = {"markdown": render_markdown, "html": render_html}[fmt](result)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def diff(
    a: str = typer.Argument(..., help="The earlier snapshot: id, prefix, 'previous', 'latest' or a date."),
    b: str = typer.Argument("latest", help="The later snapshot (default: latest)."),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE"),
    encryption_key: str | None = KEY_OPTION,
    tenant: str | None = typer.Option(
        None,
        "--tenant",
        help="Tenant id or domain, when the repository holds several.",
        envvar="ENTRASNAP_TENANT",
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="text, json, markdown or html (default: from --output's suffix; text on a terminal, json on a pipe).",
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    all_properties: bool = typer.Option(
        False, "--all", help="Also show noise (timestamps that change by themselves)."
    ),
    risky_only: bool = typer.Option(False, "--risky-only", help="Show only changes with risk flags."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when changes are shown, 0 when none."),
    types: list[str] = typer.Option(
        [], "--types", help="Only these types (catalog keys or groups, comma-separated or repeated)."
    ),
) -> None:
    with handle_errors(EXIT_ERROR):
        if store is None:
            raise fail("name the repository with --store (or ENTRASNAP_STORE)", EXIT_ERROR)
        chosen_format = choose_format(fmt, output)
        try:
            keys = [t.key for t in catalog.resolve(split_list(types))] if types else None
        except ValueError as exc:
            raise fail(str(exc), EXIT_ERROR) from None
        repository = open_repository(store, create=False, encryption_key=encryption_key)
        from entrasnap.services.diff import diff_snapshots
        from entrasnap.services.timeline import CachedRepository, pick, tenant_records, without_gc

        records = tenant_records(repository, tenant)
        before, after = pick(records, a), pick(records, b)
        with without_gc():  # the diff and its rendering allocate millions of objects and no cycles
            result = diff_snapshots(
                CachedRepository(repository), before, after, types=keys, all_properties=all_properties
            )
            if risky_only:
                result = result.only_risky()
            render(result, chosen_format, output)
    if exit_code and result.has_changes:
        raise typer.Exit(EXIT_CHANGES)
